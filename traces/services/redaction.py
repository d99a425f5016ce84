"""Account redaction rules (I7), applied to text before it is stored."""
import re

from accounts.errors import ApplicationError
from traces.models import RedactionRule

BUILTIN = {
    RedactionRule.Kind.EMAIL: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    # International or national numbers of 7+ digits with common separators.
    RedactionRule.Kind.PHONE: r"(?<![\w])\+?\d[\d\s().-]{6,}\d(?![\w])",
    # 13–19 digit card numbers, optionally grouped by spaces or dashes.
    RedactionRule.Kind.CARD: r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)",
}
MAX_PATTERN = 500
# Cards before phones: a card number also looks like a long phone number.
PRIORITY = {RedactionRule.Kind.CARD: 0, RedactionRule.Kind.EMAIL: 1, RedactionRule.Kind.PHONE: 2,
            RedactionRule.Kind.REGEX: 3}


def compile_pattern(kind: str, pattern: str) -> re.Pattern:
    source = BUILTIN.get(kind) or pattern
    if not source:
        raise ApplicationError("A regex rule needs a pattern.", {"pattern": ["required for kind 'regex'"]})
    if len(source) > MAX_PATTERN:
        raise ApplicationError("Pattern too long.", {"pattern": [f"at most {MAX_PATTERN} characters"]})
    try:
        return re.compile(source)
    except re.error as exc:
        raise ApplicationError("Invalid regular expression.", {"pattern": [str(exc)]})


class Redactor:
    """The account's enabled rules, compiled once per batch."""

    def __init__(self, account):
        self.rules = []
        rules = RedactionRule.objects.for_account(account).filter(enabled=True)
        for rule in sorted(rules, key=lambda r: (PRIORITY[r.kind], r.created_at, r.pk)):
            try:
                compiled = compile_pattern(rule.kind, rule.pattern)
            except ApplicationError:
                continue  # invalid rules are refused on save; an old bad one must not stop ingestion
            self.rules.append((compiled, rule.replacement or f"[REDACTED:{rule.kind}]"))

    def __bool__(self):
        return bool(self.rules)

    def text(self, value):
        if not value or not self.rules:
            return value
        for pattern, replacement in self.rules:
            value = pattern.sub(replacement, value)
        return value

    def json(self, value):
        if not self.rules or value is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


# -- writes and the console's preview ----------------------------------------------------

SAMPLE_MAX = 5000


def _audit(account, actor, action, rule, **details):
    from accounts.services import audit_record  # accounts' services import nothing of traces

    audit_record(account, actor, action, rule, **details)


def redaction_rule_create(account, actor, *, kind: str, pattern: str = "", replacement: str = "",
                          enabled: bool = True) -> RedactionRule:
    """A new rule, validated as the API validates it (the pattern must compile), and audited."""
    if kind not in RedactionRule.Kind.values:
        raise ApplicationError("Unknown kind.", {"kind": [f"must be one of {', '.join(RedactionRule.Kind.values)}"]})
    pattern = pattern if kind == RedactionRule.Kind.REGEX else ""
    compile_pattern(kind, pattern)
    if len(replacement) > 100:
        raise ApplicationError("Replacement too long.", {"replacement": ["at most 100 characters"]})
    rule = RedactionRule.objects.create(account=account, kind=kind, pattern=pattern, replacement=replacement,
                                        enabled=enabled)
    _audit(account, actor, "redaction_rule.created", rule, kind=rule.kind, pattern=rule.pattern)
    return rule


def redaction_rule_delete(account, actor, rule: RedactionRule) -> None:
    rule = RedactionRule.objects.for_account(account).get(pk=rule.pk)
    _audit(account, actor, "redaction_rule.deleted", rule, kind=rule.kind, pattern=rule.pattern)
    rule.delete()


def redaction_preview(account, *, kind: str, pattern: str, replacement: str, sample: str) -> dict:
    """What one rule does to a sample, and what the account's enabled rules plus it would store."""
    if len(sample) > SAMPLE_MAX:
        raise ApplicationError("Sample too long.", {"sample": [f"at most {SAMPLE_MAX} characters"]})
    compiled = compile_pattern(kind, pattern if kind == RedactionRule.Kind.REGEX else "")
    label = replacement or f"[REDACTED:{kind}]"
    result, matches = compiled.subn(label, sample)
    stored = Redactor(account)
    stored.rules.append((compiled, label))
    return {"result": result, "matches": matches, "stored": stored.text(sample),
            "existing_rules": len(stored.rules) - 1}
