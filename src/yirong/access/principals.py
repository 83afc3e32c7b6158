"""Who is calling: a role and the agent, funder, supplier or operator it acts for."""

from __future__ import annotations

from dataclasses import dataclass

from yirong.agents.service import Viewer
from yirong.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    subject: str  # agent, funder or supplier code, or the operator's username
    credential: str  # session:12 | api_key:3 (for the audit log, never the secret)
    user: str | None = None  # who signed in (a session); None for a system's API key

    @property
    def handle(self) -> str:
        """``agent:A000001``: also the namespace of the caller's idempotency keys."""
        return f"{self.role.value}:{self.subject}"

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.role, self.subject)

    def is_agent(self, code: str) -> bool:
        return self.role is Role.AGENT and self.subject == code

    def is_funder(self, code: str) -> bool:
        return self.role is Role.FUNDER and self.subject == code

    def is_supplier(self, code: str) -> bool:
        return self.role is Role.SUPPLIER and self.subject == code
