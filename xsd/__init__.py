"""The XML Schemas of the settlement documents (附件1–5), the envelope and the replies.

Kept as a package so that an installed gateway finds its schemas beside its code.
"""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
