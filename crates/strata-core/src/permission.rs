//! POSIX-style permission bits and their `rwxr-xr-x` rendering.

use std::fmt;

/// Permission bits of an inode (the low 12 bits of a POSIX mode: rwx for user, group, other
/// plus the sticky bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission(pub u32);

impl Permission {
    /// The default for new directories: `rwxr-xr-x`.
    pub const DEFAULT_DIR: Permission = Permission(0o755);
    /// The default for new files: `rw-r--r--`.
    pub const DEFAULT_FILE: Permission = Permission(0o644);

    /// Parses an octal mode such as `755` or `0644`.
    pub fn parse_octal(text: &str) -> Option<Permission> {
        let bits = u32::from_str_radix(text.trim_start_matches("0o"), 8).ok()?;
        (bits <= 0o7777).then_some(Permission(bits))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(9);
        for shift in [6, 3, 0] {
            let bits = (self.0 >> shift) & 7;
            s.push(if bits & 4 != 0 { 'r' } else { '-' });
            s.push(if bits & 2 != 0 { 'w' } else { '-' });
            s.push(if bits & 1 != 0 { 'x' } else { '-' });
        }
        if self.0 & 0o1000 != 0 {
            let last = if self.0 & 1 != 0 { 't' } else { 'T' };
            s.pop();
            s.push(last);
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_ls() {
        assert_eq!(Permission(0o755).to_string(), "rwxr-xr-x");
        assert_eq!(Permission(0o644).to_string(), "rw-r--r--");
        assert_eq!(Permission(0o1777).to_string(), "rwxrwxrwt");
        assert_eq!(Permission::parse_octal("0750"), Some(Permission(0o750)));
        assert_eq!(Permission::parse_octal("9"), None);
    }
}
