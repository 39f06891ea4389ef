//! The SQL side of a plain dump: finding statement boundaries in a stream ([`lexer`]), tokenizing a
//! statement ([`token`]) and reading the few statements whose meaning matters ([`ddl`]).
//!
//! Nothing here rewrites SQL; statements pass through byte for byte.

pub mod ddl;
pub mod lexer;
pub mod token;

use std::fmt;

/// A schema-qualified table name, compared exactly (quoting already resolved).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName { schema: schema.into(), name: name.into() }
    }

    /// Parses `schema.table` written with SQL quoting (`"Billing"."Invoice Lines"`). Unquoted
    /// parts fold to lower case, as in SQL. The schema is required.
    pub fn parse(text: &str) -> Result<Self, String> {
        let toks = token::tokenize(text.as_bytes(), true);
        match toks.as_slice() {
            [a, dot, b] if dot.is(b'.') => match (a.ident(), b.ident()) {
                (Some(s), Some(t)) => Ok(QualifiedName::new(s, t)),
                _ => Err(format!("`{text}` is not a table name")),
            },
            [a] if a.ident().is_some() => {
                Err(format!("table `{text}` must be schema-qualified, e.g. \"public.{text}\""))
            }
            _ => Err(format!(
                "`{text}` is not a schema-qualified table name (quote identifiers SQL-style: '\"My Schema\".\"My Table\"')"
            )),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |s: &str| if token::needs_quotes(s) { token::quote_ident(s) } else { s.to_string() };
        write!(f, "{}.{}", part(&self.schema), part(&self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let q = QualifiedName::parse("\"Billing\".\"Invoice Lines\"").unwrap();
        assert_eq!(q, QualifiedName::new("Billing", "Invoice Lines"));
        assert_eq!(q.to_string(), "\"Billing\".\"Invoice Lines\"");
        assert_eq!(QualifiedName::parse("Public.Users").unwrap().to_string(), "public.users");
        assert!(QualifiedName::parse("users").unwrap_err().contains("schema-qualified"));
    }
}
