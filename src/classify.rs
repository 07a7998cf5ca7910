//! File-plan rules: which e-file a document belongs to, and its index fields (Verschlagwortung).

/// Compiles a profile regex the way the classifier applies it: case-insensitive, Unicode.
pub fn compile_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
}
