//! The checked configuration built from the arguments and the profile.
