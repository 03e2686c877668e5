//! Plain-text output for people: aligned tables and `key  value` lists.

/// Formats rows under headers, columns padded to their widest cell.
pub(super) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_cells: Vec<String> = headers.iter().map(|header| header.to_string()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Formats `key  value` lines with the values aligned.
pub(super) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(key, value)| format!("{key:<width$}  {value}\n"))
        .collect()
}

/// A list for a table cell, or `none` when it is empty.
pub(super) fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let out = table(
            &["ID", "CREDITS"],
            &[
                vec!["acme".to_string(), "5".to_string()],
                vec!["b".to_string(), "12345678".to_string()],
            ],
        );
        assert_eq!(out, "ID    CREDITS\nacme  5\nb     12345678\n");
    }

    #[test]
    fn fields_align_values() {
        assert_eq!(
            fields(&[("id", "x".to_string()), ("account", "acme".to_string())]),
            "id       x\naccount  acme\n"
        );
    }
}
