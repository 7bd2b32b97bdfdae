# A code point as a UTF-8 string, through a JSON \u escape (Nix has no
# byte escapes); above U+FFFF as a surrogate pair. validate.nix and
# unit-name.nix cut single characters and lead bytes out of it.
{ lib }:
cp:
let
  u = n: "\\u" + lib.fixedWidthString 4 "0" (lib.toHexString n);
  v = cp - 65536;
in
builtins.fromJSON ("\"" + (if cp < 65536 then u cp else u (55296 + v / 1024) + u (56320 + lib.mod v 1024)) + "\"")
