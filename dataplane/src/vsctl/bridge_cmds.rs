//! The `ovs-vsctl` commands about bridges, ports, interfaces, controllers and fail modes, and
//! `show`, following `utilities/ovs-vsctl.c`.
//!
//! As in OVS, a bridge's own internal port (named like the bridge) exists as a Port and an
//! Interface record but is not a "port" for these commands: `list-ports` leaves it out,
//! `port-to-br br0` says `no port named br0`, and `del-port` refuses to delete it. Fake (VLAN)
//! bridges are not supported, so every bridge is its own parent on VLAN 0.

use super::datum::Atom;
use super::db_cmds::{column_text, set_column};
use super::options::Command;
use super::schema::{all_rows, row_uuid, Row, Table};
use super::{Ctx, Output, VsctlError};
use crate::config::{BridgeConfig, InterfaceConfig, PortConfig, SwitchConfig};

fn text(s: String) -> Result<Output, VsctlError> {
    Ok(Output::Text(s))
}

fn nothing() -> Result<Output, VsctlError> {
    text(String::new())
}

/// One name per line, sorted.
fn lines<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let mut v: Vec<&String> = names.collect();
    v.sort();
    v.into_iter().map(|n| format!("{n}\n")).collect()
}

/// OVS's `find_bridge`.
fn find_bridge<'c>(cfg: &'c SwitchConfig, name: &str, must_exist: bool) -> Result<Option<&'c BridgeConfig>, String> {
    match cfg.bridges.get(name) {
        None if must_exist => Err(format!("no bridge named {name}")),
        br => Ok(br),
    }
}

fn bridge_mut<'c>(cfg: &'c mut SwitchConfig, name: &str) -> Result<&'c mut BridgeConfig, String> {
    cfg.bridges.get_mut(name).ok_or_else(|| format!("no bridge named {name}"))
}

/// OVS's `find_port` (and `find_iface`, with `what` = "interface"): the bridge holding port
/// `name`, unless it is that bridge's own port.
fn find_port(cfg: &SwitchConfig, name: &str, must_exist: bool, what: &str) -> Result<Option<String>, String> {
    match cfg.find_port(name) {
        Some((br, _)) if br != name => Ok(Some(br.to_string())),
        _ if must_exist => Err(format!("no {what} named {name}")),
        _ => Ok(None),
    }
}

/// OVS's `check_conflicts`.
fn check_conflicts(cfg: &SwitchConfig, name: &str, msg: &str) -> Result<(), String> {
    if cfg.bridges.contains_key(name) {
        return Err(format!("{msg} because a bridge named {name} already exists"));
    }
    if let Some((br, _)) = cfg.find_port(name) {
        return Err(format!("{msg} because a port named {name} already exists on bridge {br}"));
    }
    Ok(())
}

/// The bridge names rvs-vswitchd can create (checked here so that a bad name is refused
/// before it is stored, which Open vSwitch does not do).
fn check_bridge_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 || name.contains('/') || name.contains(char::is_whitespace) {
        return Err(format!("{name}: invalid bridge name (1 to 15 characters, no '/' or spaces)"));
    }
    Ok(())
}

pub(crate) fn cmd_add_br(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let name = &cmd.args[0];
    match cmd.args.len() {
        1 => {}
        3 => {
            return Err(format!(
                "fake bridges are not supported by rvs (\"add-br {name} {} {}\"); use a port with a VLAN tag instead",
                cmd.args[1], cmd.args[2]
            )
            .into())
        }
        _ => return Err("'add-br' command takes exactly 1 or 3 arguments".into()),
    }
    if cmd.has("--may-exist") && ctx.cfg.bridges.contains_key(name) {
        return nothing();
    }
    check_conflicts(&ctx.cfg, name, &format!("cannot create a bridge named {name}"))?;
    check_bridge_name(name)?;
    let local = PortConfig {
        interface: InterfaceConfig { kind: "internal".into(), ..Default::default() },
        ..Default::default()
    };
    let mut br = BridgeConfig::default();
    br.ports.insert(name.clone(), local);
    ctx.cfg.bridges.insert(name.clone(), br);
    nothing()
}

pub(crate) fn cmd_del_br(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    if find_bridge(&ctx.cfg, &cmd.args[0], !cmd.has("--if-exists"))?.is_some() {
        ctx.cfg.bridges.remove(&cmd.args[0]);
    }
    nothing()
}

pub(crate) fn cmd_list_br(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    // There are no fake bridges: `--fake` alone lists nothing.
    let real = cmd.has("--real") || !cmd.has("--fake");
    text(if real { lines(ctx.cfg.bridges.keys()) } else { String::new() })
}

pub(crate) fn cmd_br_exists(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    if ctx.cfg.bridges.contains_key(&cmd.args[0]) {
        nothing()
    } else {
        Err(VsctlError { message: String::new(), status: 2 })
    }
}

pub(crate) fn cmd_br_to_vlan(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    find_bridge(&ctx.cfg, &cmd.args[0], true)?;
    text("0\n".into())
}

pub(crate) fn cmd_br_to_parent(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    find_bridge(&ctx.cfg, &cmd.args[0], true)?;
    text(format!("{}\n", cmd.args[0]))
}

pub(crate) fn cmd_br_set_external_id(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let br = bridge_mut(&mut ctx.cfg, &cmd.args[0])?;
    match cmd.args.get(2) {
        Some(value) => br.external_ids.insert(cmd.args[1].clone(), value.clone()),
        None => br.external_ids.remove(&cmd.args[1]),
    };
    nothing()
}

pub(crate) fn cmd_br_get_external_id(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let br = find_bridge(&ctx.cfg, &cmd.args[0], true)?.ok_or("no bridge")?;
    text(match cmd.args.get(1) {
        Some(key) => br.external_ids.get(key).map(|v| format!("{v}\n")).unwrap_or_default(),
        None => br.external_ids.iter().map(|(k, v)| format!("{k}={v}\n")).collect(),
    })
}

/// `list-ports` and `list-ifaces` (one interface per port: the same names).
pub(crate) fn cmd_list_ports(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let name = &cmd.args[0];
    let br = find_bridge(&ctx.cfg, name, true)?.ok_or("no bridge")?;
    text(lines(br.ports.keys().filter(|p| *p != name)))
}

pub(crate) fn cmd_add_port(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let (bridge, port) = (&cmd.args[0], &cmd.args[1]);
    if cmd.has("--may-exist") {
        if let Some(actual) = find_port(&ctx.cfg, port, false, "port")? {
            if actual != *bridge {
                return Err(format!(
                    "\"{}\" but {port} is actually attached to bridge {actual}",
                    cmd.to_quoted_string()
                )
                .into());
            }
            return nothing();
        }
    }
    check_conflicts(&ctx.cfg, port, &format!("cannot create a port named {port}"))?;
    bridge_mut(&mut ctx.cfg, bridge)?.ports.insert(port.clone(), PortConfig::default());
    let row = Row::Port(port.clone());
    for setting in &cmd.args[2..] {
        set_column(ctx, Table::Port, &row, setting)?;
    }
    nothing()
}

pub(crate) fn cmd_del_port(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let must_exist = !cmd.has("--if-exists");
    let target = cmd.args.last().ok_or("missing port")?;
    let holder = if ctx.cfg.bridges.contains_key(target) {
        if must_exist {
            return Err(format!(
                "cannot delete port {target} because it is the local port for bridge {target} (deleting this port requires deleting the entire bridge)"
            )
            .into());
        }
        None
    } else if !cmd.has("--with-iface") {
        find_port(&ctx.cfg, target, must_exist, "port")?
    } else {
        match find_port(&ctx.cfg, target, false, "port")? {
            None if must_exist => return Err(format!("no port or interface named {target}").into()),
            found => found,
        }
    };
    if let Some(holder) = holder {
        if cmd.args.len() == 2 {
            let want = &cmd.args[0];
            find_bridge(&ctx.cfg, want, true)?;
            if *want != holder {
                return Err(format!("bridge {want} does not have a port {target}").into());
            }
        }
        bridge_mut(&mut ctx.cfg, &holder)?.ports.remove(target);
    }
    nothing()
}

/// `port-to-br` and `iface-to-br`.
pub(crate) fn cmd_port_to_br(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let what = if cmd.syntax.name == "iface-to-br" { "interface" } else { "port" };
    let br = find_port(&ctx.cfg, &cmd.args[0], true, what)?.unwrap_or_default();
    text(format!("{br}\n"))
}

pub(crate) fn cmd_get_controller(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let br = find_bridge(&ctx.cfg, &cmd.args[0], true)?.ok_or("no bridge")?;
    text(lines(br.controllers.iter()))
}

pub(crate) fn cmd_del_controller(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    bridge_mut(&mut ctx.cfg, &cmd.args[0])?.controllers.clear();
    nothing()
}

pub(crate) fn cmd_set_controller(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let br = bridge_mut(&mut ctx.cfg, &cmd.args[0])?;
    if cmd.has("--inactivity-probe") {
        return Err("--inactivity-probe is not supported by rvs".into());
    }
    br.controllers.clear();
    for target in &cmd.args[1..] {
        if !br.controllers.contains(target) {
            br.controllers.push(target.clone());
        }
    }
    nothing()
}

pub(crate) fn cmd_get_fail_mode(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let br = find_bridge(&ctx.cfg, &cmd.args[0], true)?.ok_or("no bridge")?;
    text(br.fail_mode.as_deref().filter(|m| !m.is_empty()).map(|m| format!("{m}\n")).unwrap_or_default())
}

pub(crate) fn cmd_del_fail_mode(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    bridge_mut(&mut ctx.cfg, &cmd.args[0])?.fail_mode = None;
    nothing()
}

pub(crate) fn cmd_set_fail_mode(ctx: &mut Ctx<'_>, cmd: &Command) -> Result<Output, VsctlError> {
    let br = bridge_mut(&mut ctx.cfg, &cmd.args[0])?;
    let mode = &cmd.args[1];
    if mode != "standalone" && mode != "secure" {
        return Err("fail-mode must be \"standalone\" or \"secure\"".into());
    }
    br.fail_mode = Some(mode.clone());
    nothing()
}

/// OVS's `emer-reset`, on what rvs has: controllers, fail modes, bridge `other_config` (except
/// `hwaddr`) and port `other_config` are cleared.
pub(crate) fn cmd_emer_reset(ctx: &mut Ctx<'_>, _cmd: &Command) -> Result<Output, VsctlError> {
    for br in ctx.cfg.bridges.values_mut() {
        br.controllers.clear();
        br.fail_mode = None;
        br.other_config.retain(|k, _| k == "hwaddr");
        for port in br.ports.values_mut() {
            port.other_config.clear();
        }
    }
    nothing()
}

/// `ovs-vsctl show`: the layout of OVS's `cmd_show` with its table of shown columns.
pub(crate) fn cmd_show(ctx: &mut Ctx<'_>, _cmd: &Command) -> Result<Output, VsctlError> {
    let name_text = |n: &str| Atom::String(n.to_string()).to_text();
    let field = |out: &mut String, indent: usize, label: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("{:indent$}{label}: {v}\n", ""));
        }
    };
    let mut out = format!("{}\n", row_uuid(&ctx.cfg, &Row::Root));
    for row in all_rows(&ctx.cfg, Table::Bridge) {
        let Row::Bridge(name) = &row else { continue };
        out.push_str(&format!("    Bridge {}\n", name_text(name)));
        let mut controllers = ctx.cfg.bridges[name].controllers.clone();
        controllers.sort();
        for target in controllers {
            out.push_str(&format!("        Controller {}\n", name_text(&target)));
        }
        field(&mut out, 8, "fail_mode", column_text(ctx, &row, Table::Bridge, "fail_mode"));
        field(&mut out, 8, "datapath_type", column_text(ctx, &row, Table::Bridge, "datapath_type"));
        for port in ctx.cfg.bridges[name].ports.keys() {
            let prow = Row::Port(port.clone());
            out.push_str(&format!("        Port {}\n", name_text(port)));
            field(&mut out, 12, "tag", column_text(ctx, &prow, Table::Port, "tag"));
            field(&mut out, 12, "trunks", column_text(ctx, &prow, Table::Port, "trunks"));
            let irow = Row::Interface(port.clone());
            out.push_str(&format!("            Interface {}\n", name_text(port)));
            for col in ["type", "options", "error"] {
                field(&mut out, 16, col, column_text(ctx, &irow, Table::Interface, col));
            }
        }
    }
    field(&mut out, 4, "ovs_version", column_text(ctx, &Row::Root, Table::OpenVswitch, "ovs_version"));
    text(out)
}
