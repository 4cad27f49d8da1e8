"""Tokens for the tests of the API, the CLI and the codec server: a signing key of the test
session's own, and one principal per party."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from linkage.domain.units import load_register
from linkage.records.tokens import TokenRecords
from linkage.trust.auth_config import AuthConfig
from linkage.trust.principals import Principal, make_principal
from linkage.trust.tokens import TokenVerifier, issue_token

# One principal per role, with the units the matrix's incident gives a part to.
PARTIES = {
    "police_bureau": ("police_bureau", "区公安分局", "李警官"),
    "police_unit": ("police_unit", "黄埭派出所", "赵警官"),
    "command_center": ("command_center", "区集成指挥中心", "张坐席"),
    "member_unit": ("member_unit", "区城管局", "钱科长"),
    "emergency_unit": ("emergency_unit", "120", "急救调度"),
    "linkage_desk": ("linkage_desk", "对接联动专席", "陈专席"),
    "supervisor": ("supervisor", "", "督查周"),
    "operator": ("operator", "", "运维吴"),
}


class Tokens:
    def __init__(self, store) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.config = AuthConfig()
        self.records = TokenRecords(store.engine)
        self.verifier = TokenVerifier(
            self.config, revoked=self.records.revoked_at, public_key=self.key.public_key()
        )

    def principal(self, role: str, unit: str = "", name: str = "测试") -> Principal:
        return make_principal(load_register(), name=name, role=role, unit=unit)

    def issue(self, role: str, unit: str = "", name: str = "测试", days: float = 1) -> str:
        token, claims = issue_token(
            self.principal(role, unit, name), days, self.config, key=self.key
        )
        self.records.record_issued(claims)
        return token

    def party(self, role: str) -> str:
        role, unit, name = PARTIES[role]
        return self.issue(role, unit, name)
