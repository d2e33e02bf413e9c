//! EAL: initialised once per process; threads registered as lcores on first use.
//!
//! `rte_eal_init` can run once per process (a second call fails even after a failure), so
//! [`init`] remembers the outcome and refuses a second attempt. EAL pins its calling thread to
//! the main lcore's CPU; [`init`] restores the caller's affinity afterwards, as OVS does, so the
//! control thread keeps running wherever the daemon may run.
//!
//! [`attach_thread`] gives the calling thread an lcore id (`rte_thread_register`) the first
//! time it touches a DPDK queue, and a thread-local guard gives it back when the thread ends.

use std::ffi::{CStr, CString};
use std::sync::Mutex;

use super::config::EalPlan;
use super::ffi;

/// `None`: not tried; `Some(Ok)`: initialised; `Some(Err)`: failed (no retry possible).
static STATE: Mutex<Option<Result<(), String>>> = Mutex::new(None);

/// Initialises EAL with `plan.args`, once per process. Later calls return the first outcome.
pub fn init(plan: &EalPlan) -> Result<(), String> {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = &*state {
        return r.clone();
    }
    let r = init_once(&plan.args);
    *state = Some(r.clone());
    r
}

/// True once EAL is initialised.
pub fn initialized() -> bool {
    matches!(*STATE.lock().unwrap_or_else(|e| e.into_inner()), Some(Ok(())))
}

/// The DPDK version string (`DPDK 22.11.11`).
pub fn version() -> String {
    // SAFETY: rte_version returns a static NUL-terminated string; callable before EAL init.
    unsafe { CStr::from_ptr(ffi::rvs_dpdk_version()) }.to_string_lossy().into_owned()
}

fn init_once(args: &[String]) -> Result<(), String> {
    let owned: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| format!("EAL argument {a:?} contains a NUL byte")))
        .collect::<Result<_, _>>()?;
    // EAL may permute argv: give it its own array of pointers, and keep the strings alive for
    // the life of the process (EAL keeps pointers into them).
    let owned: &'static [CString] = Vec::leak(owned);
    let argv: &'static mut [*mut libc::c_char] =
        Vec::leak(owned.iter().map(|c| c.as_ptr().cast_mut()).chain(std::iter::once(std::ptr::null_mut())).collect());
    let saved = current_affinity();
    // SAFETY: argv holds argc valid NUL-terminated strings and a terminating null pointer, all
    // living for the rest of the process.
    let r = unsafe { ffi::rvs_dpdk_eal_init(owned.len() as libc::c_int, argv.as_mut_ptr()) };
    if let Some(set) = saved {
        // SAFETY: sched_setaffinity on the calling thread with a set read from it.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
    if r < 0 {
        return Err(format!("rte_eal_init failed: {} (EAL arguments: {})", ffi::strerror(r), args.join(" ")));
    }
    Ok(())
}

fn current_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above, with the set's real size.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    (r == 0).then_some(set)
}

/// Unregisters the thread's lcore when the thread ends.
struct Registration;

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: this thread registered itself (see attach_thread) and is ending.
        unsafe { ffi::rvs_dpdk_thread_unregister() };
    }
}

thread_local! {
    static REGISTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static REGISTRATION: std::cell::RefCell<Option<Registration>> = const { std::cell::RefCell::new(None) };
}

/// Makes the calling thread an EAL lcore if it is not one yet (EAL's own threads are). Cheap
/// after the first call: one thread-local read. A thread that cannot get an lcore id (all
/// `RTE_MAX_LCORE` taken) still works, without per-lcore mempool caches.
#[inline]
pub(crate) fn attach_thread() {
    if REGISTERED.with(|r| r.get()) {
        return;
    }
    attach_slow();
}

#[cold]
fn attach_slow() {
    REGISTERED.with(|r| r.set(true));
    // SAFETY: plain queries and registration of the calling thread; EAL is initialised (ports
    // exist only after init).
    unsafe {
        if ffi::rvs_dpdk_lcore_id() != ffi::rvs_dpdk_lcore_any() {
            return;
        }
        if ffi::rvs_dpdk_thread_register() == 0 {
            let _ = REGISTRATION.try_with(|r| *r.borrow_mut() = Some(Registration));
        }
    }
}
