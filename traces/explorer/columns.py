"""The explorer's columns and column filters, as seed 002 lists them.

One catalog serves the API's validation, the SQL, the export file and the console page
(rendered into the page as JSON), so a column's name means the same thing everywhere.
"""

# The table (X1), in display order: key, label, shown for hosted models only.
TABLE_COLUMNS = [
    ("status", "Status", False),
    ("request_id", "Request ID", False),
    ("response_time", "Response Time", False),
    ("version", "Deployment Version", True),
    ("source_type", "Source Type", False),
    ("source", "Source", False),
    ("executed_at", "Executed on", False),
    ("input", "Input", False),
    ("output", "Output", False),
]
# Status and Request ID always show; the visibility menu toggles the rest (8 columns for
# hosted models, 7 for external ones, which have no deployment version).
ALWAYS_VISIBLE = ("status",)
TOGGLEABLE = [key for key, _, _ in TABLE_COLUMNS if key not in ALWAYS_VISIBLE]

OPERATORS = {
    "eq": "Is Equals To",
    "ne": "Is Not Equals To",
    "contains": "Contains",
    "gt": "Is Greater Than",
    "lt": "Is Less Than",
    "gte": "Is Greater Than Equals To",
    "lte": "Is Less Than Equals To",
}

SOURCE_TYPES = {"workflow": "Workflow", "prompt": "Prompts", "api_key": "API Key", "agent": "Agent", "other": "Other"}
STATUSES = {"failure": "Failed", "success": "Success"}

# Column filters (X3): operators, input kind, listed values.
FILTER_COLUMNS = {
    "status": {"label": "Status", "operators": ["eq", "ne"], "input": "list", "values": STATUSES},
    "request_id": {"label": "Request ID", "operators": ["eq", "ne", "contains"], "input": "text"},
    "response_time": {"label": "Response Time", "operators": ["eq", "ne", "gt", "lt", "gte", "lte"],
                      "input": "duration", "placeholder": "m:s:ms"},
    "version": {"label": "Deployment Version", "operators": ["eq", "ne", "contains"], "input": "text",
                "hosted_only": True},
    "source_type": {"label": "Source Type", "operators": ["eq", "ne", "contains"], "input": "list",
                    "values": SOURCE_TYPES},
    "source": {"label": "Source", "operators": ["eq", "ne", "contains"], "input": "list", "values": None},
}


def catalog() -> dict:
    """What the console page needs to draw the table, the visibility menu and the filter builder."""
    return {
        "columns": [{"key": k, "label": label, "hosted_only": hosted} for k, label, hosted in TABLE_COLUMNS],
        "toggleable": TOGGLEABLE,
        "operators": OPERATORS,
        "filters": FILTER_COLUMNS,
    }
