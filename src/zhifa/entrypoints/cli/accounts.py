"""``zhifa users create-admin`` (first run) and ``zhifa security matrix`` (docs/security.md).

There is no default password: the first administrator's is typed at the prompt (or piped with
``--password-stdin``) and must pass the password policy.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from zhifa.domain.accounts import Department, Role
from zhifa.domain.errors import DomainError
from zhifa.domain.jurisdictions import DivisionCode
from zhifa.domain.permissions import ROLE_PERMISSIONS, Permission
from zhifa.entrypoints.cli.platform import DataDir, open_app, settings_with
from zhifa.services import accounts, registers
from zhifa.services.ports import DuplicateKey

users_app = typer.Typer(help="账号: units and users.", no_args_is_help=True)
security_app = typer.Typer(help="安全: the permission model.", no_args_is_help=True)


@users_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(help="The administrator's user name")],
    display_name: Annotated[
        str, typer.Option(help="Name shown on pages and in the audit log")
    ] = "系统管理员",
    unit_name: Annotated[
        str | None, typer.Option(help="Name of the province unit, if it must be created")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create the province unit (if missing) and its first administrator."""
    settings = settings_with(data_dir)
    app = open_app(settings)
    try:
        registers.load_reference_province(app.uow, app.reference, settings.province_code)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        province = DivisionCode.parse(settings.province_code)
        with app.uow() as uow:
            unit = next((u for u in uow.units.list(province) if u.division == province), None)
            jurisdiction = uow.jurisdictions.get(province)
        if unit is None:
            name = unit_name or (
                jurisdiction.authority if jurisdiction else f"{province} 交通运输综合行政执法机构"
            )
            unit = accounts.create_unit(
                app.account_deps, None, division=province.code, name=name, department=Department.ENFORCEMENT
            )
        user = accounts.create_user(
            app.account_deps,
            None,
            accounts.NewUser(username, display_name, unit.id, frozenset({Role.ADMIN}), password),
        )
    except (DomainError, DuplicateKey) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        app.close()
    typer.echo(f"administrator {user.username} created in {unit.name} ({unit.division})")


def permission_matrix() -> str:
    """The role × permission table of docs/security.md, from ROLE_PERMISSIONS."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(f"`{r.value}`<br>{r.label}" for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for permission in Permission:
        if permission is Permission.PUBLIC:
            continue
        marks = ["✔" if permission in ROLE_PERMISSIONS[r] else "" for r in roles]
        lines.append(f"| `{permission.value}` {permission.label} | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"


@security_app.command("matrix")
def matrix() -> None:
    """Print the role × permission matrix as Markdown."""
    typer.echo(permission_matrix(), nl=False)
