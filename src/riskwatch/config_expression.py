"""The call list's value expression: a feature column or simple arithmetic over the features,
checked before anything evaluates it."""

from __future__ import annotations

import ast

# schema.FEATURES, named here because loading the settings must not import pandas (which
# riskwatch.schema does); a test keeps the two the same.
FEATURES = ("lastmonth_activity", "lastyear_activity", "number_of_employees")
OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
SIGNS = (ast.UAdd, ast.USub)
MAX_LENGTH = 200


def check_value_expression(text: str) -> None:
    """ValueError naming what is not allowed, unless text is a feature column, a number, or
    those joined by + - * / and parentheses."""
    if not text.strip():
        raise ValueError(f"must name a client column ({', '.join(FEATURES)}) or combine them")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"must be at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"is not an arithmetic expression: {text!r} ({exc.msg})") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in FEATURES:
            raise ValueError(
                f"may use only the client columns {', '.join(FEATURES)}, not {node.id!r}"
            )
        if not _allowed(node):
            raise ValueError(
                f"may use only client columns, numbers, + - * / and parentheses; "
                f"{ast.unparse(node)!r} is not allowed"
            )


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, OPERATORS)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, SIGNS)
    return isinstance(node, ast.Expression | ast.Name | ast.Load | ast.operator | ast.unaryop)
