//! `resiscan verify`: the QA clerk's checks of signatures, certificates, hashes, completeness.
