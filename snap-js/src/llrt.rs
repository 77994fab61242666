//! LLRT's modules as snapjs registers them: each `llrt_modules` feature
//! snap-js enables, with its globals, and nothing of LLRT's CommonJS.
//!
//! `ModuleBuilder::default()` also installs LLRT's `require`, `exports` and
//! a global `module` object that cannot be deleted. snapjs has Node's
//! module system instead (`crate::modules`), where an ES module sees no
//! `module` at all, so `module.exports = ...` in one is Node's
//! `ReferenceError`. The list below is the default builder's, feature for
//! feature, without that one entry.

use std::cell::RefCell;

use llrt_modules::module::ModuleHookState;
use llrt_modules::module_builder::ModuleBuilder;
use llrt_modules::{
    abort, assert, buffer, child_process, console, crypto, dgram, dns, events, exceptions, fs,
    intl, navigator, net, os, path, perf_hooks, process, stream_web, string_decoder, timers, tty,
    url, util,
};
use llrt_utils::module::ModuleInfo;

use crate::node;

/// Every LLRT module and global snapjs uses; LLRT's originals of the
/// modules snapjs replaces stay reachable as `snapjs:llrt/NAME`.
pub(crate) fn builder() -> ModuleBuilder {
    ModuleBuilder::new()
        .with_global(hook_state)
        .with_global(abort::init)
        .with_module(assert::AssertModule)
        .with_global(buffer::init)
        .with_module(buffer::BufferModule)
        .with_module(child_process::ChildProcessModule)
        .with_global(console::init)
        .with_module(console::ConsoleModule)
        .with_global(crypto::init)
        .with_module(crypto::CryptoModule)
        .with_module(dgram::DgramModule)
        .with_module(dns::DnsModule)
        .with_global(events::init)
        .with_module(events::EventsModule)
        .with_global(exceptions::init)
        .with_module(fs::FsPromisesModule)
        .with_module(fs::FsModule)
        .with_global(navigator::init)
        .with_module(net::NetModule)
        .with_module(os::OsModule)
        .with_module(path::PathModule)
        .with_global(perf_hooks::init)
        .with_module(perf_hooks::PerfHooksModule)
        .with_global(process::init)
        .with_module(process::ProcessModule)
        .with_global(stream_web::init)
        .with_module(stream_web::StreamWebModule)
        .with_module(string_decoder::StringDecoderModule)
        .with_global(timers::init)
        .with_module(timers::TimersModule)
        .with_module(tty::TtyModule)
        .with_global(url::init)
        .with_module(url::UrlModule)
        .with_global(util::init)
        .with_module(util::UtilModule)
        .with_global(intl::init)
        .with_global(llrt_fetch::init)
        .with_module(llrt_zlib::ZlibModule)
        .with_module(alias("snapjs:llrt/buffer", buffer::BufferModule))
        .with_module(alias("snapjs:llrt/crypto", crypto::CryptoModule))
        .with_module(alias("snapjs:llrt/dns", dns::DnsModule))
        .with_module(alias("snapjs:llrt/fs", fs::FsModule))
        .with_module(alias("snapjs:llrt/fs/promises", fs::FsPromisesModule))
        .with_module(alias("snapjs:llrt/net", net::NetModule))
        .with_module(alias("snapjs:llrt/os", os::OsModule))
        .with_module(alias("snapjs:llrt/url", url::UrlModule))
        .with_module(alias("snapjs:llrt/util", util::UtilModule))
        .with_module(alias("snapjs:llrt/zlib", llrt_zlib::ZlibModule))
        .with_module(ModuleInfo {
            name: crate::crypto::NAME,
            module: crate::crypto::CryptoNative,
        })
}

/// The state LLRT's module resolver and loader read (loader hooks, of
/// which snapjs registers none); LLRT's CommonJS set-up would store it.
fn hook_state(ctx: &rquickjs::Ctx<'_>) -> rquickjs::Result<()> {
    // An `Err` only means it is stored already.
    let _ = ctx.store_userdata(RefCell::new(ModuleHookState::default()));
    Ok(())
}

/// LLRT's module `module` under a second name, for the snapjs module
/// that replaces it.
fn alias<M: rquickjs::module::ModuleDef>(name: &'static str, module: M) -> ModuleInfo<M> {
    debug_assert!(name.starts_with(node::LLRT_PREFIX));
    ModuleInfo { name, module }
}
