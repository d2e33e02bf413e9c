//! The generic database commands: `get`, `set`, `add`, `remove`, `clear`, `list`, `find`.
//!
//! These follow OVS's `lib/db-ctl-base.c` step by step: the same argument syntax
//! (`COLUMN[:KEY]=VALUE`, abbreviated column names), the same order of checks, and the same
//! error messages. [`prerequisites`] is OVS's "pre" pass: before any command runs, every
//! command's table and column names are checked, so a misspelt column in the last command
//! fails the invocation before the first command's own errors are looked for.

use super::datum::{parse_atom, parse_token, Atom, ColumnType, Datum, UNLIMITED};
use super::options::Command;
use super::schema::{
    self, all_rows, get_column, get_row, get_table, read, row_uuid, write, Access, Column, Row, Table, UUID_TYPE,
};
use super::table::{Cell, OutTable};
use super::{Ctx, Output, VsctlError};

/// OVS's `find` operators, in the order its error message lists them.
const RELOPS: &[&str] =
    &["=", "!=", "<", ">", "<=", ">=", "{=}", "{!=}", "{<}", "{>}", "{<=}", "{>=}", "{in}", "{not-in}"];

/// The parts of a `COLUMN[:KEY][OP VALUE]` argument.
struct ColumnArg {
    column: &'static Column,
    key: Option<String>,
    op: usize,
    value: Option<String>,
}

/// OVS's `parse_column_key_value`. `ops`: the operators allowed before a value, or `None`
/// when the argument has no value.
fn parse_column_arg(arg: &str, table: Table, ops: Option<&[&str]>) -> Result<ColumnArg, String> {
    let (name, mut rest) = parse_token(arg)?;
    if name.is_empty() {
        return Err(format!("{arg}: missing column name"));
    }
    let column = get_column(table, &name)?;
    let mut key = None;
    if let Some(after) = rest.strip_prefix(':') {
        let (k, r) = parse_token(after)?;
        key = Some(k);
        rest = r;
    }
    match ops {
        Some(ops) => {
            let best = (0..ops.len())
                .filter(|&i| rest.starts_with(ops[i]) && rest.len() > ops[i].len())
                .max_by_key(|&i| ops[i].len())
                .ok_or_else(|| missing_operator_error(arg, ops))?;
            Ok(ColumnArg { column, key, op: best, value: Some(rest[ops[best].len()..].to_string()) })
        }
        None if !rest.is_empty() => Err(format!("{arg}: trailing garbage \"{rest}\" in argument")),
        None => Ok(ColumnArg { column, key, op: 0, value: None }),
    }
}

fn missing_operator_error(arg: &str, ops: &[&str]) -> String {
    let quoted: Vec<String> = ops.iter().map(|o| format!("\"{o}\"")).collect();
    let list = match quoted.as_slice() {
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
        [] => String::new(),
    };
    format!("{arg}: argument does not end in {list} followed by a value.")
}

/// OVS's `pre_parse_column_key_value`: checks only the column name.
fn check_column_name(arg: &str, table: Table) -> Result<(), String> {
    let (name, _) = parse_token(arg)?;
    if name.is_empty() {
        return Err(format!("{arg}: missing column name"));
    }
    get_column(table, &name).map(|_| ())
}

/// OVS's `parse_column_names` (`--columns`): `None` stands for `_uuid`.
fn parse_column_names(names: Option<&str>, table: Table) -> Result<Vec<Option<&'static Column>>, String> {
    let Some(names) = names else {
        return Ok(std::iter::once(None).chain(table.columns().iter().map(Some)).collect());
    };
    let mut columns = Vec::new();
    for name in names.split([',', ' ']).filter(|n| !n.is_empty()) {
        columns.push(if name.eq_ignore_ascii_case("_uuid") { None } else { Some(get_column(table, name)?) });
    }
    if columns.is_empty() {
        return Err("must specify at least one column name".into());
    }
    Ok(columns)
}

fn is_uuid_column(arg: &str) -> bool {
    arg.eq_ignore_ascii_case("_uuid") || arg.eq_ignore_ascii_case("-uuid")
}

/// The checks OVS makes before running any command (its `pre_cmd_*` functions).
pub(crate) fn prerequisites(cmd: &Command) -> Result<(), String> {
    let table = || get_table(&cmd.args[0]);
    match cmd.syntax.name {
        "get" => {
            let t = table()?;
            for arg in cmd.args[2..].iter().filter(|a| !is_uuid_column(a)) {
                check_column_name(arg, t)?;
            }
        }
        "list" => {
            parse_column_names(cmd.value("--columns"), table()?)?;
        }
        "find" => {
            let t = table()?;
            parse_column_names(cmd.value("--columns"), t)?;
            for arg in &cmd.args[1..] {
                check_column_name(arg, t)?;
            }
        }
        "set" => {
            let t = table()?;
            for arg in &cmd.args[2..] {
                check_column_name(arg, t)?;
            }
        }
        "add" | "remove" => {
            get_column(table()?, &cmd.args[2])?;
        }
        "clear" => {
            let t = table()?;
            for arg in &cmd.args[2..] {
                get_column(t, arg)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The record `id` of `table`; `None` only without `must_exist`.
fn find_row(ctx: &Ctx<'_>, table: Table, id: &str, must_exist: bool) -> Result<Option<Row>, String> {
    match get_row(&ctx.cfg, table, id) {
        Some(row) => Ok(Some(row)),
        None if must_exist => Err(format!("no row \"{id}\" in table {}", table.name())),
        None => Ok(None),
    }
}

/// OVS's `check_mutable`: only columns immutable in the OVS schema fail here; columns that
/// are read-only in rvs alone fail later, in [`write`], after OVS's other checks.
fn check_mutable(table: Table, column: &Column) -> Result<(), String> {
    if column.access == Access::Immutable {
        Err(format!("cannot modify read-only column {} in table {}", column.name, table.name()))
    } else {
        Ok(())
    }
}

/// Reads `column` of `row` in the working configuration.
fn current(ctx: &Ctx<'_>, row: &Row, column: &Column) -> Datum {
    read(&ctx.cfg, ctx.status, row, column)
}

/// The single atom `s` of base type `ty.key` (or `ty.value` with `value`).
fn one_atom(ty: &ColumnType, s: &str, value: bool) -> Result<Atom, String> {
    let base = if value { ty.value.unwrap_or(ty.key) } else { ty.key };
    Ok(parse_atom(&base, s, false)?.remove(0))
}

/// OVS's `set_column`: one `COLUMN[:KEY]=VALUE` on `row`. Also used by `add-port`.
pub(crate) fn set_column(ctx: &mut Ctx<'_>, table: Table, row: &Row, arg: &str) -> Result<(), String> {
    let ColumnArg { column, key, value, .. } = parse_column_arg(arg, table, Some(&["="]))?;
    let value = value.ok_or_else(|| format!("{arg}: missing value"))?;
    check_mutable(table, column)?;
    let new = match key {
        Some(key) => {
            if !column.ty.is_map() {
                return Err(format!("cannot specify key to set for non-map column {}", column.name));
            }
            let key = one_atom(&column.ty, &key, false)?;
            let value = one_atom(&column.ty, &value, true)?;
            let mut d = Datum::from_pairs([(key, value)]);
            d.union_keep(&current(ctx, row, column));
            d
        }
        None => Datum::parse(&column.ty, &value)?,
    };
    write(&mut ctx.cfg, row, column, &new)
}

pub(crate) fn cmd_get(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let must_exist = !cmd.has("--if-exists");
    if cmd.has("--id") {
        if !must_exist {
            return Err("--if-exists and --id may not be specified together".into());
        }
        return Err("--id is not supported by rvs (rvs has no \"create\" command)".into());
    }
    let table = get_table(&cmd.args[0])?;
    let record = &cmd.args[1];
    let Some(row) = find_row(ctx, table, record, must_exist)? else { return Ok(Output::Text(String::new())) };
    let mut out = String::new();
    for arg in &cmd.args[2..] {
        if is_uuid_column(arg) {
            out.push_str(&row_uuid(&ctx.cfg, &row));
            out.push('\n');
            continue;
        }
        let ColumnArg { column, key, .. } = parse_column_arg(arg, table, None)?;
        let datum = current(ctx, &row, column);
        match key {
            Some(key_text) => {
                if !column.ty.is_map() {
                    return Err(format!("cannot specify key to get for non-map column {}", column.name).into());
                }
                let key = one_atom(&column.ty, &key_text, false)?;
                match datum.find_key(&key) {
                    Some((_, Some(v))) => out.push_str(&v.to_text()),
                    _ if must_exist => {
                        return Err(format!(
                            "no key \"{key_text}\" in {} record \"{record}\" column {}",
                            table.name(),
                            column.name
                        )
                        .into())
                    }
                    _ => {}
                }
            }
            None => out.push_str(&datum.to_text(&column.ty)),
        }
        out.push('\n');
    }
    Ok(Output::Text(out))
}

pub(crate) fn cmd_set(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let table = get_table(&cmd.args[0])?;
    if let Some(row) = find_row(ctx, table, &cmd.args[1], !cmd.has("--if-exists"))? {
        for arg in &cmd.args[2..] {
            set_column(ctx, table, &row, arg)?;
        }
    }
    Ok(Output::Text(String::new()))
}

/// The column type OVS uses to parse the values of `add` and `remove`.
fn at_least_one(ty: &ColumnType) -> ColumnType {
    ColumnType { n_min: 1, n_max: UNLIMITED, ..*ty }
}

fn values_word(ty: &ColumnType) -> &'static str {
    if ty.is_map() {
        "pairs"
    } else {
        "values"
    }
}

pub(crate) fn cmd_add(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let table = get_table(&cmd.args[0])?;
    let column = get_column(table, &cmd.args[2])?;
    let Some(row) = find_row(ctx, table, &cmd.args[1], !cmd.has("--if-exists"))? else {
        return Ok(Output::Text(String::new()));
    };
    check_mutable(table, column)?;
    let mut datum = current(ctx, &row, column);
    for value in &cmd.args[3..] {
        datum.union_replace(&Datum::parse(&at_least_one(&column.ty), value)?);
    }
    if datum.len() > column.ty.n_max as usize {
        return Err(format!(
            "\"add\" operation would put {} {} in column {} of table {} but the maximum number is {}",
            datum.len(),
            values_word(&column.ty),
            column.name,
            table.name(),
            column.ty.n_max
        )
        .into());
    }
    write(&mut ctx.cfg, &row, column, &datum)?;
    Ok(Output::Text(String::new()))
}

pub(crate) fn cmd_remove(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let table = get_table(&cmd.args[0])?;
    let column = get_column(table, &cmd.args[2])?;
    let Some(row) = find_row(ctx, table, &cmd.args[1], !cmd.has("--if-exists"))? else {
        return Ok(Output::Text(String::new()));
    };
    check_mutable(table, column)?;
    let mut datum = current(ctx, &row, column);
    for value in &cmd.args[3..] {
        let ty = at_least_one(&column.ty);
        let remove = match Datum::parse(&ty, value) {
            Ok(d) => d,
            // A map's elements may also be removed by key alone.
            Err(_) if ty.is_map() => Datum::parse(&ColumnType { value: None, ..ty }, value)?,
            Err(e) => return Err(e.into()),
        };
        datum.subtract(&remove);
    }
    if datum.len() < column.ty.n_min as usize {
        return Err(format!(
            "\"remove\" operation would put {} {} in column {} of table {} but the minimum number is {}",
            datum.len(),
            values_word(&column.ty),
            column.name,
            table.name(),
            column.ty.n_min
        )
        .into());
    }
    write(&mut ctx.cfg, &row, column, &datum)?;
    Ok(Output::Text(String::new()))
}

pub(crate) fn cmd_clear(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let table = get_table(&cmd.args[0])?;
    let Some(row) = find_row(ctx, table, &cmd.args[1], !cmd.has("--if-exists"))? else {
        return Ok(Output::Text(String::new()));
    };
    for arg in &cmd.args[2..] {
        let column = get_column(table, arg)?;
        check_mutable(table, column)?;
        if column.ty.n_min > 0 {
            return Err(format!(
                "\"clear\" operation cannot be applied to column {} of table {}, which is not allowed to be empty",
                column.name,
                table.name()
            )
            .into());
        }
        write(&mut ctx.cfg, &row, column, &Datum::empty())?;
    }
    Ok(Output::Text(String::new()))
}

fn new_table(columns: &[Option<&'static Column>]) -> OutTable {
    OutTable { headings: columns.iter().map(|c| c.map_or("_uuid", |c| c.name).to_string()).collect(), rows: Vec::new() }
}

fn list_record(ctx: &Ctx<'_>, row: &Row, columns: &[Option<&'static Column>], out: &mut OutTable) {
    let cells = columns
        .iter()
        .map(|c| match c {
            None => Cell { datum: Datum::from_option(Some(Atom::Uuid(row_uuid(&ctx.cfg, row)))), ty: UUID_TYPE },
            Some(c) => Cell { datum: current(ctx, row, c), ty: c.ty },
        })
        .collect();
    out.rows.push(cells);
}

pub(crate) fn cmd_list(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let table = get_table(&cmd.args[0])?;
    let columns = parse_column_names(cmd.value("--columns"), table)?;
    let mut out = new_table(&columns);
    if cmd.args.len() > 1 {
        for id in &cmd.args[1..] {
            if let Some(row) = find_row(ctx, table, id, !cmd.has("--if-exists"))? {
                list_record(ctx, &row, &columns, &mut out);
            }
        }
    } else {
        for row in all_rows(&ctx.cfg, table) {
            list_record(ctx, &row, &columns, &mut out);
        }
    }
    Ok(Output::Table(out))
}

/// OVS's `evaluate_relop` for operator `RELOPS[op]`.
fn evaluate(a: &Datum, b: &Datum, op: usize) -> bool {
    use std::cmp::Ordering::*;
    match RELOPS[op] {
        "=" | "{=}" => a.compare(b) == Equal,
        "!=" | "{!=}" => a.compare(b) != Equal,
        "<" => a.compare(b) == Less,
        ">" => a.compare(b) == Greater,
        "<=" => a.compare(b) != Greater,
        ">=" => a.compare(b) != Less,
        "{<}" => b.len() > a.len() && a.is_subset_of(b),
        "{>}" => a.len() > b.len() && b.is_subset_of(a),
        "{<=}" | "{in}" => a.is_subset_of(b),
        "{>=}" => b.is_subset_of(a),
        _ => a.is_disjoint_from(b), // "{not-in}"
    }
}

/// OVS's `is_condition_satisfied`.
fn condition_holds(ctx: &Ctx<'_>, table: Table, row: &Row, arg: &str) -> Result<bool, String> {
    let ColumnArg { column, key, op, value } = parse_column_arg(arg, table, Some(RELOPS))?;
    let value = value.ok_or_else(|| format!("{arg}: missing value"))?;
    let have = current(ctx, row, column);
    let Some(key) = key else {
        let want = Datum::parse(&column.ty, &value)?;
        return Ok(evaluate(&have, &want, op));
    };
    let Some(value_type) = column.ty.value else {
        return Err(format!("cannot specify key to check for non-map column {}", column.name));
    };
    let want_key = one_atom(&column.ty, &key, false)?;
    let b =
        Datum::parse(&ColumnType { key: value_type, value: None, n_min: column.ty.n_min, n_max: UNLIMITED }, &value)?;
    let is_set_op = RELOPS[op].starts_with('{');
    Ok(match have.find_key(&want_key) {
        None if !is_set_op => false,
        found => {
            let a = Datum::from_option(found.and_then(|(_, v)| v.clone()));
            evaluate(&a, &b, op)
        }
    })
}

pub(crate) fn cmd_find(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let table = get_table(&cmd.args[0])?;
    let columns = parse_column_names(cmd.value("--columns"), table)?;
    let mut out = new_table(&columns);
    'rows: for row in all_rows(&ctx.cfg, table) {
        for cond in &cmd.args[1..] {
            if !condition_holds(ctx, table, &row, cond)? {
                continue 'rows;
            }
        }
        list_record(ctx, &row, &columns, &mut out);
    }
    Ok(Output::Table(out))
}

/// The value of a column as `get` would print it (used by `show`).
pub(crate) fn column_text(ctx: &Ctx<'_>, row: &Row, table: Table, name: &str) -> Option<String> {
    let column = schema::get_column(table, name).ok()?;
    let datum = current(ctx, row, column);
    let default = if column.ty.n_min == 0 { datum.len() == 0 } else { datum.keys().all(|k| k.as_str().is_empty()) };
    (!default).then(|| datum.to_text(&column.ty))
}
