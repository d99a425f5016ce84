"""ModelPulse client: queue traces locally, send them in background batches."""
from modelpulse_client.client import Client

__all__ = ["Client"]
