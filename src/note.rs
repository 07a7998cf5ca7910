//! The transfer note (Transfervermerk, TR-03138 A.NB.4).
