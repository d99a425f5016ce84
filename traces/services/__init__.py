from traces.services.feedback import feedback_record
from traces.services.ingest import IngestResult, trace_ingest_batch

__all__ = ["IngestResult", "feedback_record", "trace_ingest_batch"]
