//! The error of a message that cannot become a domain event: bad input.

/// Why an input message is bad input. The message names the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a JSON object nor a protobuf message (syntax, encoding, duplicate field).
    #[error("undecodable: {0}")]
    Undecodable(String),
    /// A required field is absent or `null` (or, in protobuf, empty).
    #[error("missing required field `{field}`{condition}")]
    Missing {
        /// The field's name.
        field: &'static str,
        /// When the field is required only in some cases, which case (` (action is CONFIRM)`),
        /// else empty.
        condition: &'static str,
    },
    /// A field has the wrong type or an invalid value.
    #[error("field `{field}`: {why}")]
    Field {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

impl DecodeError {
    /// Every value [`DecodeError::kind`] gives.
    pub const KINDS: [&'static str; 3] = ["undecodable", "missing_field", "invalid_field"];

    /// A short, fixed name of the kind of error, for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Undecodable(_) => "undecodable",
            DecodeError::Missing { .. } => "missing_field",
            DecodeError::Field { .. } => "invalid_field",
        }
    }

    /// The field the error is about, if it is about one field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            DecodeError::Undecodable(_) => None,
            DecodeError::Missing { field, .. } | DecodeError::Field { field, .. } => Some(field),
        }
    }

    /// A required field is absent.
    pub(crate) fn missing(field: &'static str) -> Self {
        DecodeError::Missing {
            field,
            condition: "",
        }
    }

    /// A field has the wrong type or an invalid value.
    pub(crate) fn field_error(field: &'static str, why: impl Into<String>) -> Self {
        DecodeError::Field {
            field,
            why: why.into(),
        }
    }
}

/// Longest prefix of a value quoted in an error message, in characters.
const QUOTE_MAX_CHARS: usize = 64;

/// A value quoted for an error message, shortened when long.
pub(crate) fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_MAX_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
    }
}
