//! resiscan: the replacing-scanning pipeline of a municipal scan center (BSI TR-03138,
//! "TR-RESISCAN"). A batch folder goes in; checked, searchable, signed PDF/A documents with
//! signed transfer notes come out, filed into the e-files of the profile's file plan.
//!
//! The modules follow the pipeline: intake -> image -> quality -> ocr -> pdf -> crypto ->
//! note -> classify -> store. `pipeline` runs them in that order, one worker thread per job; `verify` and
//! `qa` are the quality-assurance side. The binary (`src/main.rs`) only maps outcomes to
//! exit codes.

pub mod addendum;
pub mod atomic_file;
pub mod barcode;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod heap;
pub mod image;
pub mod intake;
pub mod machine;
pub mod note;
pub mod ocr;
pub mod openmp;
pub mod outcome;
pub mod pdf;
pub mod pipeline;
pub mod profile;
pub mod qa;
pub mod quality;
pub mod separation;
pub mod store;
pub mod text;
pub mod verify;
