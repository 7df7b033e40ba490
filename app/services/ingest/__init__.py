"""Ingest of uploaded ME-system files: reading, header mapping, values, checks, bulk writes.

Entry point for the job: :func:`app.services.ingest.pipeline.run_ingest`.
"""
