//! What the hooks add to a restore: one after-restore phase with the
//! built-ins alone, and with a sync and an async user hook besides.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use snap_hooks::{Hook, Resume, global};

fn phases(c: &mut Criterion) {
    let builtins = global();
    c.bench_function("after_restore/builtins", |b| {
        b.iter(|| builtins.run_after_restore(Resume::restored(1)).unwrap())
    });

    let user = snap_hooks::Registry::new();
    user.register(Hook::new("sync").after_restore(|| Ok::<(), std::io::Error>(())))
        .unwrap();
    user.register(
        Hook::new("async").after_restore_async(|| async { Ok::<(), std::io::Error>(()) }),
    )
    .unwrap();
    c.bench_function("after_restore/sync+async", |b| {
        b.iter(|| user.run_after_restore(Resume::restored(1)).unwrap())
    });
    c.bench_function("before_checkpoint/builtins", |b| {
        b.iter(|| builtins.run_before_checkpoint().unwrap())
    });
}

criterion_group!(benches, phases);
criterion_main!(benches);
