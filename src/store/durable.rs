//! Durable files: how a file comes to exist on disk so that a crash leaves all of it or
//! none of it. The Maildir and the spool both write this way, and only this way.
//!
//! 1. [`TmpFile::create`] opens a new file under a temporary name with
//!    `O_CREAT|O_EXCL`: it never writes into a file that already exists.
//! 2. The caller writes the bytes into it.
//! 3. [`TmpFile::sync`] flushes them and fsyncs the file: the bytes are on disk, under
//!    the temporary name only.
//! 4. [`TmpFile::rename_into`] or [`TmpFile::link_into`] gives the file its real name
//!    in one step (rename and link are atomic), then [`sync_dir`] fsyncs the directory
//!    that holds the name: a name is durable only once its directory is.
//!
//! Only after step 4 may a server say that the data is safe (RFC 5321 §6.1). Dropping a
//! [`TmpFile`] removes its temporary name, whether or not the file was placed.
//!
//! Left out: the temporary name is the caller's, and so is cleaning up after a crash
//! (each store sweeps its own `tmp/` at start-up). `fsync` is trusted: a disk that lies
//! about its write cache defeats this, as it defeats every database.

use crate::store::group;
use crate::store::witness::{self, Event};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How much is buffered before it is written to the file.
const WRITE_BUFFER: usize = 64 * 1024;

/// A new file under its temporary name. Dropped, it removes that name.
#[derive(Debug)]
pub struct TmpFile {
    out: BufWriter<File>,
    path: PathBuf,
}

impl TmpFile {
    /// Creates `path` (mode 0600), which must not exist yet (`O_CREAT|O_EXCL`).
    pub fn create(path: PathBuf) -> io::Result<TmpFile> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(TmpFile {
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            path,
        })
    }

    /// The temporary name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the buffer and fsyncs the file. Call it before giving the file a name.
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        witness::record(|| Event::FileSynced(self.path.clone()));
        Ok(())
    }

    /// Moves the synced file to `target` (replacing a file of that name, atomically) and
    /// fsyncs `target`'s directory.
    pub fn rename_into(self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        witness::record(|| Event::Named {
            from: self.path.clone(),
            to: target.to_path_buf(),
        });
        sync_parent(target)
        // Dropping `self` finds the temporary name gone; that is fine.
    }

    // ANCHOR: link_into
    /// Gives the synced file every name in `targets` (hard links), then fsyncs each
    /// target's directory. All or none: if one link fails, the ones made are removed.
    /// The temporary name goes when `self` is dropped.
    pub fn link_into(&self, targets: &[PathBuf]) -> io::Result<()> {
        let mut linked = Vec::new();
        let result = targets.iter().try_for_each(|target| {
            fs::hard_link(&self.path, target)?;
            witness::record(|| Event::Named {
                from: self.path.clone(),
                to: target.clone(),
            });
            linked.push(target);
            Ok(())
        });
        let result = result.and_then(|()| targets.iter().try_for_each(|t| sync_parent(t)));
        if result.is_err() {
            for path in linked {
                if let Err(e) = fs::remove_file(path) {
                    log::error!("cannot undo {}: {e}", path.display());
                }
            }
        }
        result
    }
    // ANCHOR_END: link_into
}

impl Write for TmpFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

// ANCHOR: drop
impl Drop for TmpFile {
    /// The temporary name is never needed after this: a placed file lives on under its
    /// real name; one never placed was never acknowledged.
    fn drop(&mut self) {
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            // Renamed into place.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Harmless: the next start-up sweeps tmp/.
            Err(e) => log::warn!("cannot remove {}: {e}", self.path.display()),
        }
    }
}
// ANCHOR_END: drop

/// Writes `bytes` to a new file at `tmp`, syncs it and renames it to `target`: a reader
/// of `target` sees the old file or the new one, never half of either.
pub fn replace(tmp: PathBuf, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = TmpFile::create(tmp)?;
    file.write_all(bytes)?;
    file.sync()?;
    file.rename_into(target)
}

// ANCHOR: sync_dir
/// Makes the names in a directory durable: open it and fsync it — or wait for an
/// fsync of it that another thread began after our names were made (group commit).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    group::sync_directory(dir, || {
        witness::record(|| Event::DirSyncStarted(dir.to_path_buf()));
        File::open(dir)?.sync_all()?;
        witness::record(|| Event::DirSyncDone(dir.to_path_buf()));
        Ok(())
    })
}
// ANCHOR_END: sync_dir

/// Fsyncs the directory that holds `path`.
fn sync_parent(path: &Path) -> io::Result<()> {
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new `TmpFile` called `t` in `dir`, with `bytes` written into it.
    fn written(dir: &Path, bytes: &[u8]) -> TmpFile {
        let mut file = TmpFile::create(dir.join("t")).unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn a_placed_file_has_its_bytes_and_no_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = written(dir.path(), b"hello");
        file.sync().unwrap();
        file.rename_into(&dir.path().join("final")).unwrap();
        assert_eq!(fs::read(dir.path().join("final")).unwrap(), b"hello");
        assert!(!dir.path().join("t").exists());
    }

    #[test]
    fn flush_hands_the_buffered_bytes_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = written(dir.path(), b"hello");
        file.flush().unwrap();
        assert_eq!(fs::read(dir.path().join("t")).unwrap(), b"hello");
    }

    /// Dropping a placed file is quiet (its temporary name is already gone); a
    /// temporary name that cannot be removed is a warning for the operator.
    #[test]
    fn a_temporary_name_left_behind_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        crate::logged::start();
        let file = written(dir.path(), b"placed");
        file.rename_into(&dir.path().join("final")).unwrap();
        assert_eq!(
            crate::logged::take(),
            [],
            "a placed file's drop says nothing"
        );

        let file = written(dir.path(), b"stuck");
        // Something else now stands under the temporary name, and unlink refuses it.
        fs::remove_file(dir.path().join("t")).unwrap();
        fs::create_dir(dir.path().join("t")).unwrap();
        drop(file);
        let warned = crate::logged::take();
        assert!(
            matches!(&warned[..], [r] if r.level == log::Level::Warn && r.text.contains("cannot remove")),
            "{warned:?}"
        );
    }

    #[test]
    fn create_never_opens_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("t"), "someone else's").unwrap();
        let err = TmpFile::create(dir.path().join("t")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(dir.path().join("t")).unwrap(), b"someone else's");
    }

    #[test]
    fn dropped_unplaced_it_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        drop(written(dir.path(), b"half"));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn links_are_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir(&a).unwrap();
        let mut file = TmpFile::create(dir.path().join("t")).unwrap();
        file.write_all(b"x").unwrap();
        file.sync().unwrap();
        // b/ does not exist: the second link fails, and the first is undone.
        let targets = [a.join("m"), b.join("m")];
        assert!(file.link_into(&targets).is_err());
        assert!(!a.join("m").exists());
        fs::create_dir(&b).unwrap();
        file.link_into(&targets).unwrap();
        drop(file);
        assert_eq!(fs::read(a.join("m")).unwrap(), b"x");
        assert_eq!(fs::read(b.join("m")).unwrap(), b"x");
        assert!(!dir.path().join("t").exists());
    }

    #[test]
    fn replace_swaps_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("envelope");
        fs::write(&target, "old").unwrap();
        replace(dir.path().join("t"), &target, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!dir.path().join("t").exists());
    }
}
