"""OTLP/HTTP trace ingestion (I2): decode export requests and map GenAI spans to traces."""
