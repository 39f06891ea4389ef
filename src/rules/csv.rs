//! Rules as a table, for teams that keep their decisions in a spreadsheet: a CSV file with the
//! header `schema,table,column,action` and an optional `params` column.
//!
//! ```csv
//! schema,table,column,action,params
//! public,users,id,keep,
//! public,users,email,email,
//! public,users,api_token,hash,{ length = 32 }
//! public,audit_log,*,drop,
//! Billing,Invoice Lines,Customer Email,email,"{ keep_domain = true }"
//! ```
//!
//! * `schema`, `table` and `column` are the names exactly as PostgreSQL stores them (no SQL
//!   quoting, case-sensitive).
//! * `action` is a transform name, `keep` or `null`; with column `*` it is `drop` (the table's
//!   rows are not written) or `keep` (every column kept, `keep_all`).
//! * `params` is an inline TOML table of the transform's parameters (`{ length = 16 }`).
//! * Other columns (notes, evidence, owner) are ignored; so are empty lines and lines whose
//!   first field starts with `#`.
//!
//! The table compiles to the same [`RuleSet`] as a TOML file, with `unlisted_columns = "error"`:
//! errors name the CSV line.

use std::collections::BTreeMap;
use std::path::Path;

use super::{DataAction, LargeObjects, RuleSet, TableRules, Unlisted, compile_column};
use crate::error::{Error, Result};
use crate::sql::QualifiedName;
use crate::transform::SecretKey;

/// Splits CSV text into records of fields, each with the line it starts on. Fields may be
/// quoted (`"a, b"`, with `""` for a quote) and may then span lines.
/// Records of fields, each with the line it starts on.
type Records = Vec<(usize, Vec<String>)>;

fn records(text: &str) -> std::result::Result<Records, (usize, String)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err((start, "a quoted field is not closed".into()));
                }
                break;
            };
            match c {
                '"' if quoted => {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if field.trim().is_empty() && !was_quoted => {
                    field.clear();
                    quoted = true;
                    was_quoted = true;
                }
                '\n' if quoted => {
                    line += 1;
                    field.push('\n');
                }
                c if quoted => field.push(c),
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    break;
                }
                c => field.push(c),
            }
        }
        fields.push(field);
        out.push((start, fields));
    }
    Ok(out)
}

/// Compiles a rules table (see the module documentation); `path` is used in error messages.
pub fn parse(text: &str, path: &Path, key: Option<&SecretKey>) -> Result<RuleSet> {
    let err = |line: usize, msg: String| Error::Rules { file: path.to_path_buf(), line: Some(line), msg };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows = records(text).map_err(|(line, msg)| err(line, msg))?;
    let mut rows = rows
        .into_iter()
        .filter(|(_, f)| !(f.iter().all(|c| c.trim().is_empty()) || f[0].trim_start().starts_with('#')));
    let Some((hline, header)) = rows.next() else {
        return Err(err(1, "the rules table is empty: it needs the header `schema,table,column,action`".into()));
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let find = |name: &str| header.iter().position(|h| h == name);
    let (Some(si), Some(ti), Some(ci), Some(ai)) = (find("schema"), find("table"), find("column"), find("action"))
    else {
        return Err(err(
            hline,
            format!(
                "the header must name the columns schema, table, column and action (and optionally params), got `{}`",
                header.join(",")
            ),
        ));
    };
    let pi = find("params");
    let mut tables: BTreeMap<QualifiedName, TableRules> = BTreeMap::new();
    for (line, fields) in rows {
        let cell = |i: usize| fields.get(i).map_or("", |s| s.trim());
        let (schema, table, column, action) = (cell(si), cell(ti), cell(ci), cell(ai));
        let params = pi.map_or("", cell);
        for (what, v) in [("schema", schema), ("table", table), ("column", column), ("action", action)] {
            if v.is_empty() {
                return Err(err(line, format!("the `{what}` field is empty")));
            }
        }
        let qname = QualifiedName::new(schema, table);
        let entry = tables.entry(qname.clone()).or_insert_with(|| TableRules::new(line));
        if column == "*" {
            if !params.is_empty() {
                return Err(err(line, format!("{qname}: a table-wide action (column `*`) takes no params")));
            }
            match action {
                "drop" => entry.data = DataAction::Drop,
                "keep" => entry.keep_all = true,
                other => {
                    return Err(err(
                        line,
                        format!(
                            "{qname}: column `*` takes the action `drop` (no rows) or `keep` (every column kept), got `{other}`"
                        ),
                    ));
                }
            }
        } else {
            let rule = if params.is_empty() {
                toml::Value::String(action.to_string())
            } else {
                let parsed: toml::Table = toml::from_str(&format!("p = {params}")).map_err(|e| {
                    err(
                        line,
                        format!("{qname}.{column}: params `{params}` are not an inline TOML table: {}", e.message()),
                    )
                })?;
                let Some(toml::Value::Table(mut t)) = parsed.get("p").cloned() else {
                    return Err(err(
                        line,
                        format!("{qname}.{column}: params must be an inline TOML table like `{{ length = 16 }}`"),
                    ));
                };
                if t.contains_key("transform") {
                    return Err(err(line, format!("{qname}.{column}: the transform goes in `action`, not in params")));
                }
                t.insert("transform".into(), toml::Value::String(action.to_string()));
                toml::Value::Table(t)
            };
            let compiled = compile_column(key, &rule, line).map_err(|m| err(line, format!("{qname}.{column}: {m}")))?;
            if entry.columns.insert(column.to_string(), compiled).is_some() {
                return Err(err(line, format!("{qname}.{column} is listed twice")));
            }
        }
        if entry.keep_all && !entry.columns.is_empty() {
            return Err(err(
                line,
                format!("{qname}: `keep` for every column (`*`) cannot be combined with column rules"),
            ));
        }
    }
    Ok(RuleSet {
        path: Some(path.to_path_buf()),
        unlisted: Unlisted::Error,
        large_objects: LargeObjects::Keep,
        tables,
        virtual_foreign_keys: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<RuleSet> {
        let key = SecretKey::new(b"k".to_vec()).unwrap();
        parse(text, Path::new("r.csv"), Some(&key))
    }

    #[test]
    fn reads_quoted_fields_and_params() {
        let rules = parse_text(
            "schema,table,column,action,params,notes\n\
             public,users,id,keep,,\n\
             public,users,email,email,\"{ keep_domain = true }\",\"reviewed, ok\"\n\
             public,users,token,hash,{ length = 32 },\n\
             \n\
             # a comment line\n\
             Billing,Invoice Lines,\"Customer \"\"Email\"\"\",null,,\"two\nlines\"\n\
             public,audit_log,*,drop,,\n\
             public,countries,*,keep,,\n",
        )
        .unwrap();
        assert_eq!(rules.unlisted, Unlisted::Error);
        let users = &rules.tables[&QualifiedName::new("public", "users")];
        assert!(users.columns["id"].is_keep());
        assert_eq!(users.columns["email"].params.get("keep_domain"), Some(&toml::Value::Boolean(true)));
        assert_eq!(users.columns["token"].params.get("length"), Some(&toml::Value::Integer(32)));
        assert_eq!(users.columns["token"].line, 4);
        let billing = &rules.tables[&QualifiedName::new("Billing", "Invoice Lines")];
        assert_eq!(billing.columns["Customer \"Email\""].transform, "null");
        assert_eq!(billing.line, 7);
        assert_eq!(rules.tables[&QualifiedName::new("public", "audit_log")].data, DataAction::Drop);
        assert!(rules.tables[&QualifiedName::new("public", "countries")].keep_all);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_text("schema,table,column,action\npublic,t,a,keep\npublic,t,b,nope\n").unwrap_err();
        assert!(e.to_string().starts_with("r.csv:3: public.t.b: unknown transform `nope`"), "{e}");
        let e = parse_text("schema,table,col,action\n").unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
        let e = parse_text("schema,table,column,action,params\npublic,t,a,hash,{ length = \"x\" }\n").unwrap_err();
        assert!(e.to_string().starts_with("r.csv:2:"), "{e}");
        let e = parse_text("schema,table,column,action,params\npublic,t,a,hash,length = 3\n").unwrap_err();
        assert!(e.to_string().contains("inline TOML"), "{e}");
        let e = parse_text("schema,table,column,action\npublic,t,a,keep\npublic,t,a,null\n").unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let e = parse_text("schema,table,column,action\npublic,t,*,lorem\n").unwrap_err();
        assert!(e.to_string().contains("column `*`"), "{e}");
        let e = parse_text("schema,table,column,action\npublic,t,a,\"keep\n").unwrap_err();
        assert!(e.to_string().contains("not closed"), "{e}");
    }
}
