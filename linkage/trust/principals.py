"""Principals: who an authenticated party is (a person or a platform), as its token says.

A principal has a name, a role and, where the role needs one, a unit of the register. The
workflow roles (linkage.domain.models.Role) are principal roles as they stand; a supervisor reads
and decodes but never acts on an incident, an operator runs the worker host. Every action's actor
is built here from the principal, never from a field the caller fills in."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from linkage.domain.models import Actor, Role
from linkage.domain.units import ROLE_KINDS, Register, UnknownUnit


class PrincipalRole(StrEnum):
    police_bureau = "police_bureau"
    police_unit = "police_unit"
    command_center = "command_center"
    member_unit = "member_unit"
    emergency_unit = "emergency_unit"
    linkage_desk = "linkage_desk"
    supervisor = "supervisor"  # 督查: reads every incident and the audit, sees personal data
    operator = "operator"  # the worker host's operator: token admin, outbox, plays a party

    @property
    def workflow_role(self) -> Role | None:
        return Role(self.value) if self.value in Role.__members__ else None


# Roles that need a unit of the register, and of which kinds; the others may name one.
UNIT_KINDS: dict[PrincipalRole, tuple[str, ...]] = {
    PrincipalRole(role.value): kinds for role, kinds in ROLE_KINDS.items()
}
# The roles that may see personal data (the codec server decodes for these alone).
SEES_PERSONAL_DATA = frozenset(
    {
        PrincipalRole.supervisor,
        PrincipalRole.police_bureau,
        PrincipalRole.command_center,
        PrincipalRole.linkage_desk,
    }
)


class InvalidPrincipal(ValueError):
    """A role, unit or name a principal cannot have; the message names the claim."""


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=40)
    role: PrincipalRole
    unit: str = ""  # the register's code; "" for a supervisor or operator without one
    unit_name: str = ""
    unit_side: str = ""  # hotline | police | both, from the register
    token_id: str = ""  # the jti of the token it came with ("" for a key on the host)
    issuer: str = ""

    def __str__(self) -> str:
        where = f"{self.unit_name or self.unit}/" if self.unit else ""
        return f"{self.role.value}:{where}{self.name}"

    @property
    def workflow_role(self) -> Role | None:
        return self.role.workflow_role

    def actor(self) -> Actor:
        """The actor of every action this principal takes."""
        role = self.workflow_role
        if role is None:
            raise InvalidPrincipal(f"a {self.role.value} takes no action on an incident")
        return Actor(role=role, unit=self.unit, unit_name=self.unit_name, person=self.name[:40])

    def acts_for(self, unit: str) -> bool:
        return bool(self.unit) and unit in (self.unit, self.unit_name)


def make_principal(
    register: Register,
    *,
    name: str,
    role: str,
    unit: str = "",
    token_id: str = "",
    issuer: str = "",
    what: str = "",
) -> Principal:
    """A principal from a token's claims (or `linkage token issue`'s flags): the role checked,
    the unit resolved in the register by code, name or alias and of a kind the role acts for.
    `what` prefixes each message with where the value came from (a claim, a flag)."""
    prefix = f"{what}: " if what else ""
    try:
        principal_role = PrincipalRole(role)
    except ValueError:
        raise InvalidPrincipal(
            f"{prefix}role: unknown role {role!r}; one of {', '.join(PrincipalRole)}"
        ) from None
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise InvalidPrincipal(f"{prefix}name: 1 to 40 characters (got {name!r})")
    kinds = UNIT_KINDS.get(principal_role)
    code = unit_name = side = ""
    if kinds is not None and not unit:
        raise InvalidPrincipal(f"{prefix}unit: a {principal_role.value} acts for a unit; name it")
    if unit:
        try:
            found = register.resolve(unit, kinds, f"{prefix}unit")
        except UnknownUnit as err:
            raise InvalidPrincipal(str(err)) from None
        code, unit_name, side = found.code, found.name, found.side
    return Principal(
        name=name,
        role=principal_role,
        unit=code,
        unit_name=unit_name,
        unit_side=side,
        token_id=token_id,
        issuer=issuer,
    )
