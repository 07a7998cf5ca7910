//! `resiscan ingest`: the stages in order, run over rayon.
