//! XML as DataContractSerializer wrote it ([`ser`]) and read with stricter rules ([`de`]).

pub mod de;
pub(crate) mod ser;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tree_ref;

/// `xmlns:i`.
pub(crate) const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Namespace of `KeyValueOfstringstring` and `ArrayOfstring` items.
pub(crate) const ARRAYS: &str = "http://schemas.microsoft.com/2003/10/Serialization/Arrays";
