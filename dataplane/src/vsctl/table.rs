//! Record listings (`list`, `find`) in the formats of OVS's `lib/table.c`.
//!
//! `--format` picks the layout (`list`, the default, `table`, `csv`, `html`, `json`), `--data`
//! how each cell is written (`string`: OVSDB syntax; `bare`: no quotes or brackets; `json`),
//! `--no-headings` drops column names, and `--bare` is `--format=list --data=bare
//! --no-headings`. Widths are counted in bytes, as OVS does.

use std::fmt::Write as _;

use super::datum::{ColumnType, Datum, Json};
use super::schema::is_uuid;

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableFormat {
    List,
    Table,
    Html,
    Csv,
    Json,
}

/// `--data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellFormat {
    String,
    Bare,
    Json,
}

/// How tables are printed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    pub(crate) format: TableFormat,
    pub(crate) cells: CellFormat,
    pub(crate) headings: bool,
    pub(crate) pretty: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style { format: TableFormat::List, cells: CellFormat::String, headings: true, pretty: false }
    }
}

/// One cell: a value with its column type.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    pub(crate) datum: Datum,
    pub(crate) ty: ColumnType,
}

impl Cell {
    fn text(&self, style: &Style) -> String {
        match style.cells {
            CellFormat::String => self.datum.to_text(&self.ty),
            CellFormat::Bare => self.datum.to_bare(),
            CellFormat::Json => self.datum.to_json(&self.ty).to_text(false),
        }
    }
}

/// The output of one `list` or `find`.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutTable {
    pub(crate) headings: Vec<String>,
    pub(crate) rows: Vec<Vec<Cell>>,
}

impl OutTable {
    /// Appends the table to `out`. `index` counts the tables already printed by this
    /// invocation: OVS separates consecutive tables with a blank line (except in HTML and JSON).
    pub(crate) fn format(&self, style: &Style, index: usize, out: &mut String) {
        let sep = index > 0;
        match style.format {
            TableFormat::List => {
                if sep {
                    out.push('\n');
                }
                for (y, row) in self.rows.iter().enumerate() {
                    if y > 0 {
                        out.push('\n');
                    }
                    for (heading, cell) in self.headings.iter().zip(row) {
                        if style.headings {
                            let _ = write!(out, "{heading:<20}: ");
                        }
                        out.push_str(&cell.text(style));
                        out.push('\n');
                    }
                }
            }
            TableFormat::Table => {
                if sep {
                    out.push('\n');
                }
                // Widths count headings only when they are printed; the last column is not
                // padded.
                let texts: Vec<Vec<String>> =
                    self.rows.iter().map(|r| r.iter().map(|c| c.text(style)).collect()).collect();
                let widths: Vec<usize> = (0..self.headings.len())
                    .map(|x| {
                        let heading = if style.headings { self.headings[x].len() } else { 0 };
                        texts.iter().map(|r| r[x].len()).chain([heading]).max().unwrap_or(0)
                    })
                    .collect();
                let last = widths.len().saturating_sub(1);
                let mut line = |cells: &mut dyn Iterator<Item = String>| {
                    let padded: Vec<String> = cells
                        .zip(&widths)
                        .enumerate()
                        .map(|(x, (t, w))| if x == last { t } else { pad(&t, *w) })
                        .collect();
                    out.push_str(&padded.join(" "));
                    out.push('\n');
                };
                if style.headings {
                    line(&mut self.headings.iter().cloned());
                    line(&mut widths.iter().map(|w| "-".repeat(*w)));
                }
                for row in texts {
                    line(&mut row.into_iter());
                }
            }
            TableFormat::Csv => {
                if sep {
                    out.push('\n');
                }
                if style.headings {
                    let h: Vec<String> = self.headings.iter().map(|h| csv_cell(h)).collect();
                    out.push_str(&h.join(","));
                    out.push('\n');
                }
                for row in &self.rows {
                    let r: Vec<String> = row.iter().map(|c| csv_cell(&c.text(style))).collect();
                    out.push_str(&r.join(","));
                    out.push('\n');
                }
            }
            TableFormat::Html => self.format_html(style, out),
            TableFormat::Json => {
                let headings = Json::Array(self.headings.iter().map(|h| Json::Str(h.clone())).collect());
                let data =
                    self.rows.iter().map(|r| Json::Array(r.iter().map(|c| c.datum.to_json(&c.ty)).collect())).collect();
                let json = Json::Object(vec![("data".into(), Json::Array(data)), ("headings".into(), headings)]);
                out.push_str(&json.to_text(style.pretty));
                out.push('\n');
            }
        }
    }

    fn format_html(&self, style: &Style, out: &mut String) {
        out.push_str("<table border=1>\n");
        if style.headings {
            out.push_str("  <tr>\n");
            for h in &self.headings {
                html_cell(out, "th", h);
            }
            out.push_str("  </tr>\n");
        }
        for row in &self.rows {
            out.push_str("  <tr>\n");
            for (heading, cell) in self.headings.iter().zip(row) {
                let text = cell.text(style);
                if heading == "_uuid" {
                    let short: String = text.chars().take(8).collect();
                    let _ =
                        writeln!(out, "    <td><a name=\"{}\">{}</a></td>", html_escape(&text), html_escape(&short));
                } else {
                    html_cell(out, "td", &text);
                }
            }
            out.push_str("  </tr>\n");
        }
        out.push_str("</table>\n");
    }
}

/// Left-aligns `s` in `width` bytes (C's `%-*s`).
fn pad(s: &str, width: usize) -> String {
    let mut t = s.to_string();
    t.push_str(&" ".repeat(width.saturating_sub(s.len())));
    t
}

fn csv_cell(s: &str) -> String {
    if s.contains(['\n', '"', ',']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A cell whose UUIDs become links to the rows they name, as OVS prints them.
fn html_cell(out: &mut String, element: &str, content: &str) {
    let _ = write!(out, "    <{element}>");
    let mut rest = content;
    while let Some(c) = rest.chars().next() {
        if rest.len() >= 36 && rest.is_char_boundary(36) && is_uuid(&rest[..36]) {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", &rest[..36], &rest[..8]);
            rest = &rest[36..];
        } else {
            out.push_str(&html_escape(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    let _ = writeln!(out, "</{element}>");
}

#[cfg(test)]
mod tests {
    use super::super::datum::{Atom, BaseType};
    use super::*;

    fn sample() -> OutTable {
        let name = ColumnType::scalar(BaseType::STRING);
        let tag = ColumnType::optional(BaseType::INTEGER);
        let cell = |d: Datum, ty| Cell { datum: d, ty };
        OutTable {
            headings: vec!["name".into(), "tag".into()],
            rows: vec![
                vec![cell(Datum::from_option(Some(Atom::String("p1".into()))), name), cell(Datum::empty(), tag)],
                vec![
                    cell(Datum::from_option(Some(Atom::String("port-two".into()))), name),
                    cell(Datum::from_option(Some(Atom::Integer(5))), tag),
                ],
            ],
        }
    }

    #[test]
    fn table_format_pads_every_column() {
        let mut out = String::new();
        sample().format(&Style { format: TableFormat::Table, ..Style::default() }, 0, &mut out);
        assert_eq!(out, "name     tag\n-------- ---\np1       []\nport-two 5\n");
    }

    #[test]
    fn list_format_separates_records_and_tables() {
        let mut out = String::new();
        sample().format(&Style::default(), 1, &mut out);
        assert_eq!(out, "\nname                : p1\ntag                 : []\n\nname                : port-two\ntag                 : 5\n");
    }
}
