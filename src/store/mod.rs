//! The e-file store the DMS imports from (SPEC §4): sanitised paths, atomic writes, the index.
