//! What a snapshot's files must be before a byte of them is trusted:
//! this user's or root's, and reached without a link.

use std::fs::{self, File};
use std::path::Path;

use super::OpenError;

/// Refuses what another user than this one or root owns: they could have
/// planted or changed it.
pub(super) fn trusted_owner(path: &Path, meta: &fs::Metadata) -> Result<(), OpenError> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(OpenError::OwnedByOther {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    Ok(())
}

/// Opens a snapshot's file for reading as it is: never through a link
/// (`Symlink`), never a FIFO or device that could block or never end
/// (`NotARegularFile`), and only one of this user's or root's
/// (`OwnedByOther`). A missing file is an `io::ErrorKind::NotFound`
/// cause, for callers that name it their own way.
pub(super) fn open_owned(path: &Path) -> Result<File, OpenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|cause| match cause.raw_os_error() {
            Some(libc::ELOOP) => OpenError::Symlink {
                path: path.to_path_buf(),
            },
            _ => OpenError::io("open", path, cause),
        })?;
    let meta = file
        .metadata()
        .map_err(|cause| OpenError::io("stat", path, cause))?;
    if !meta.is_file() {
        return Err(OpenError::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    trusted_owner(path, &meta)?;
    Ok(file)
}
