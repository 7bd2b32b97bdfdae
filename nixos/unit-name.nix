# systemd's name for the .mount unit of a path, as `systemd-escape --path
# --suffix=mount` gives it (unit_name_path_escape): "/" becomes "-", and
# every byte other than [A-Za-z0-9:_.] (and a leading ".") becomes \xNN.
#
# NixOS' utils.escapeSystemdPath gives the same for plain ASCII paths but
# leaves "?" and non-ASCII bytes as they are, which systemd refuses as a
# unit name. nixos/nixos_test.go checks this file against systemd-escape.
{ lib }:
let
  inherit (builtins)
    genList
    listToAttrs
    stringLength
    substring
    ;

  hex2 = n: lib.toLower (lib.fixedWidthString 2 "0" (lib.toHexString n));

  utf8 = import ./utf8.nix { inherit lib; };

  # Each byte UTF-8 can hold above 0x7F, as a one-byte string, cut out of
  # the encoding of a code point that starts (or continues) with it.
  highBytes = listToAttrs (
    genList (i: {
      name = substring 1 1 (utf8 (128 + i));
      value = hex2 (128 + i);
    }) 64 # continuation bytes 0x80-0xBF
    ++ genList (i: {
      name = substring 0 1 (utf8 ((2 + i) * 64));
      value = hex2 (194 + i);
    }) 30 # 0xC2-0xDF
    ++ genList (i: {
      name = substring 0 1 (utf8 (lib.max 2048 (i * 4096)));
      value = hex2 (224 + i);
    }) 16 # 0xE0-0xEF
    ++ genList (i: {
      name = substring 0 1 (utf8 (lib.max 65536 (i * 262144)));
      value = hex2 (240 + i);
    }) 5 # 0xF0-0xF4
  );

  plain = c: builtins.match "[A-Za-z0-9:_.]" c != null;

  escapeByte =
    c:
    "\\x"
    + (
      if highBytes ? ${c} then
        highBytes.${c}
      else
        hex2 (lib.strings.charToInt c)
    );

  # UNIT_NAME_MAX less the terminating NUL. Longer names are hashed by
  # systemd (unit_name_hash_long), which Nix cannot reproduce.
  maxUnitName = 255;
in
{
  # The .mount unit name of an absolute, normalized path, or null when
  # systemd would hash it because it is too long.
  mountUnit =
    path:
    let
      trimmed = lib.removePrefix "/" path;
      chars = lib.stringToCharacters trimmed;
      escaped =
        if trimmed == "" then
          "-"
        else
          lib.concatStrings (
            lib.imap0 (
              i: c:
              if c == "/" then
                "-"
              else if plain c && !(i == 0 && c == ".") then
                c
              else
                escapeByte c
            ) chars
          );
      name = escaped + ".mount";
    in
    if stringLength name > maxUnitName then null else name;
}
