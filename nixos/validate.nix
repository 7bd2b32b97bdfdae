# The launcher's config rules (DESIGN.md, "Mount config" and "Validation"),
# mirrored in Nix so that a bad mount fails at evaluation time, not at boot.
#
# Each check takes a value and returns null when it is fine, or a short
# problem text that the module prefixes with the option's name. The texts
# follow the launcher's (`config <field>: <problem>`). nixos/nixos_test.go
# runs the launcher's own test vectors through these rules.
{ lib }:
let
  inherit (builtins) match stringLength;

  # The first problem found, or null.
  firstProblem = checks: lib.findFirst (p: p != null) null checks;

  problemIf = cond: problem: if cond then problem else null;

  # Go's unicode.IsControl and unicode.IsSpace, which the launcher uses:
  # Nix's [[:cntrl:]] and [[:space:]] see ASCII only, so the C1 controls
  # (U+0080-U+009F) and Unicode's spaces are listed, as UTF-8 strings.
  # UTF-8 is self-synchronizing: finding one as an infix is exact.
  char = import ./utf8.nix { inherit lib; };
  c1Controls = builtins.genList (i: char (128 + i)) 32;
  unicodeSpaces = map char (
    [
      133 # U+0085 NEL (also a C1 control)
      160 # U+00A0 no-break space
      5760 # U+1680
    ]
    ++ lib.range 8192 8202 # U+2000-U+200A
    ++ [
      8232 # U+2028 line separator
      8233 # U+2029 paragraph separator
      8239 # U+202F
      8287 # U+205F
      12288 # U+3000
    ]
  );
  # Unicode's format characters (Cf) in the BMP: invisible, refused in a
  # token like Go's !unicode.IsPrint (a byte-order mark, zero-width spaces,
  # direction marks).
  formatChars = map char (
    [
      173
      1564
      1757
      1807
      2192
      2193
      2274
      6158
      65279
    ]
    ++ lib.range 1536 1541
    ++ lib.range 8203 8207
    ++ lib.range 8234 8238
    ++ lib.range 8288 8292
    ++ lib.range 8294 8303
    ++ lib.range 65529 65531
  );

  # Private-use characters, unprintable for Go too: whole blocks, found by
  # the leading bytes of their UTF-8 encoding (cut out of one member).
  # U+E000-U+EFFF start with 0xEE; U+F000-U+F8FF with 0xEF 0x80-0xA3;
  # planes 15 and 16 with 0xF3 0xB0-0xBF and 0xF4 0x80-0x8F; the tag
  # characters U+E0000-U+E007F with 0xF3 0xA0 0x80-0x81.
  prefix = n: cp: builtins.substring 0 n (char cp);
  privateUsePrefixes =
    [ (prefix 1 57344) ]
    ++ builtins.genList (i: prefix 2 (61440 + i * 64)) 36
    ++ builtins.genList (i: prefix 2 (983040 + i * 4096)) 16
    ++ builtins.genList (i: prefix 2 (1048576 + i * 4096)) 16
    ++ [
      (prefix 3 917504)
      (prefix 3 917568)
    ];
  hasAny = chars: s: lib.any (c: lib.hasInfix c s) chars;
  hasControl = s: match ".*[[:cntrl:]].*" s != null || hasAny c1Controls s;
  hasSpace = s: match ".*[[:space:]].*" s != null || hasAny unicodeSpaces s;

  # An absolute path in the form systemd and the launcher accept it: no
  # empty, "." or ".." component and no trailing "/".
  isNormalized = v: !(lib.hasSuffix "/" v || lib.hasInfix "//" v || match "(.*/)?\\.\\.?(/.*)?" v != null);

  # Go's path.Clean of an absolute path: no empty or "." segments, ".."
  # removes the one before (and stays at /).
  cleanPath =
    p:
    "/"
    + lib.concatStringsSep "/" (
      lib.foldl' (acc: seg: if seg == ".." then lib.take (lib.length acc - 1) acc else acc ++ [ seg ]) [ ] (
        lib.filter (seg: seg != "" && seg != ".") (lib.splitString "/" p)
      )
    );

  # NAME_MAX: mkdir fails on a longer path component.
  maxComponentBytes = 255;

  # Directories a mount point must not be at or under.
  systemDirs = [
    "/nix"
    "/proc"
    "/sys"
    "/dev"
    "/boot"
    "/etc"
    "/usr"
    "/bin"
    "/sbin"
    "/lib"
    "/lib64"
    "/run/credentials"
  ];

  atOrUnder = dir: p: p == dir || lib.hasPrefix "${dir}/" p;

  diskOwner = "[A-Za-z0-9][A-Za-z0-9._-]*";
  diskUser = "[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9][A-Za-z0-9.-]*";
  diskBase = "[A-Za-z0-9][A-Za-z0-9._-]*";
  diskId = "dsk-[0-9a-f]{16}";

  # Flags the launcher owns or refuses outright.
  forbiddenArgs = [
    "--auth-token"
    "--no-fork"
    "--force"
    "-f"
    "--"
  ];

  # Flags a typed option sets, and the option.
  typedFlags = {
    "--region" = "region";
    "--shared" = "shared";
    "--read-only" = "readOnly";
    "--enable-xattrs" = "enableXattrs";
    "--writeback-cache" = "writebackCache";
    "--max-cache-mb" = "maxCacheMB";
    "--target-cache-mb" = "targetCacheMB";
    "--log-level" = "logLevel";
  };
in
{
  # The attribute name under services.archil.mounts: it becomes part of the
  # unit name and the config file name.
  name =
    v:
    problemIf (
      match "[A-Za-z0-9_-]{1,64}" v == null
    ) "must be 1 to 64 of [A-Za-z0-9_-]";

  diskName =
    v:
    let
      parts = match "([^:]*)(:(.*))?" v;
      disk = builtins.elemAt parts 0;
      sub = builtins.elemAt parts 2;
      subSegments = lib.splitString "/" (lib.removePrefix "/" sub);
      ownerName = match "([^/]*)/(.*)" disk;
      owner = builtins.elemAt ownerName 0;
      base = builtins.elemAt ownerName 1;
    in
    firstProblem [
      (problemIf (v == "") "must not be empty")
      (problemIf (stringLength v > 1024) "is longer than 1024 bytes")
      (problemIf (hasControl v) "must not contain control characters")
      (problemIf (hasSpace v) "must not contain whitespace")
      (problemIf (sub != null && !(lib.hasPrefix "/" sub)) "subdirectory must start with '/' after ':'")
      (problemIf (
        sub != null
        && sub != "/"
        && lib.any (s: s == "" || s == "." || s == "..") subSegments
      ) "subdirectory must not contain empty, '.' or '..' segments")
      (
        if lib.hasPrefix "dsk-" disk && !(lib.hasInfix "/" disk) then
          problemIf (match diskId disk == null) "disk id must be dsk- and 16 lowercase hex digits"
        else
          firstProblem [
            (problemIf (
              ownerName == null || lib.hasInfix "/" base
            ) "must be owner/name, user@domain/name or dsk-<16 hex digits>")
            (problemIf (lib.elem owner [
              "."
              ".."
            ] || lib.elem base [
              "."
              ".."
            ]) "must not contain '.' or '..' segments")
            (problemIf (
              match diskOwner owner == null && match diskUser owner == null
            ) "owner must start with a letter or digit and hold only [A-Za-z0-9._-] (or be user@domain)")
            (problemIf (
              match diskBase base == null
            ) "disk name must start with a letter or digit and hold only [A-Za-z0-9._-]")
          ]
      )
    ];

  mountPoint =
    v:
    firstProblem [
      (problemIf (v == "") "must not be empty")
      (problemIf (stringLength v > 4095) "is longer than 4095 bytes")
      (problemIf (hasControl v) "must not contain control characters")
      (problemIf (!(lib.hasPrefix "/" v)) "must be absolute")
      (problemIf (v == "/") "must not be /")
      (problemIf (!(isNormalized v)) "must be normalized (no //, ., .. or trailing /)")
      (
        let
          dir = lib.findFirst (d: atOrUnder d v) null systemDirs;
        in
        problemIf (dir != null) "must not be at or under ${dir}"
      )
      (problemIf (lib.any (c: stringLength c > maxComponentBytes) (lib.splitString "/" v)) "has a component longer than ${toString maxComponentBytes} bytes")
    ];

  # authTokenFile and encryptedAuthTokenFile: systemd ignores a credential
  # source that is not a normalized absolute path, and a newline would end
  # the unit file line.
  secretPath =
    v:
    firstProblem [
      (problemIf (hasControl v) "must not contain control characters")
      (problemIf (!(isNormalized v)) "must be normalized (no //, ., .. or trailing /)")
      # The setting ends its unit file line: systemd would strip trailing
      # whitespace and join the next line after a trailing backslash.
      (problemIf (match ".*[[:space:]\\]" v != null) "must not end in whitespace or a backslash")
    ];

  # authToken: the launcher's token rules (broker.CheckToken), so that a bad
  # inline token fails here and not at boot. The texts never show the value.
  token =
    v:
    let
      t =
        if lib.hasSuffix "\r\n" v then
          lib.removeSuffix "\r\n" v
        else
          lib.removeSuffix "\n" v;
    in
    firstProblem [
      (problemIf (t == "") "the token is empty")
      (problemIf (stringLength t > 4096) "the token is longer than 4096 bytes")
      (problemIf (
        hasControl t || hasSpace t || hasAny formatChars t || hasAny privateUsePrefixes t
      ) "the token contains whitespace, a control or an invisible character (only one trailing newline is allowed)")
      (problemIf (
        lib.hasPrefix "/" t
        && (
          let
            clean = cleanPath t;
          in
          clean == "/nix/store" || lib.hasPrefix "/nix/store/" clean
        )
      ) "the token looks like a /nix/store path, not a token")
    ];

  region =
    v:
    problemIf (
      stringLength v > 64 || match "[a-z][a-z0-9]*-[a-z0-9-]+[0-9]" v == null || lib.hasInfix "--" v
    ) "must be a lowercase provider-region name like aws-us-east-1";

  credential =
    v:
    problemIf (
      match "[A-Za-z0-9_.-]{1,255}" v == null || lib.hasPrefix "." v
    ) "must match [A-Za-z0-9_.-]{1,255} and not start with '.'";

  # Each element one flag, `--flag` or `--flag=value`; none the launcher
  # sets or forbids, none twice (the launcher's rules, config/validate.go).
  extraArgs =
    args:
    let
      flagOf = arg: builtins.head (lib.splitString "=" arg);
      flags = map flagOf args;
    in
    firstProblem (
      lib.imap0 (
        i: arg:
        let
          flag = flagOf arg;
        in
        firstProblem [
          (problemIf (lib.elem flag forbiddenArgs) "${flag} is not allowed")
          (problemIf (typedFlags ? ${flag}) "${flag} is not allowed: it is set by the ${typedFlags.${flag}} option")
          (problemIf (!(lib.hasPrefix "--" arg)) "element ${toString i} must start with -- (use --flag=value)")
          (problemIf (hasControl arg) "element ${toString i} must not contain control characters")
          (problemIf (lib.elem flag (lib.take i flags)) "${flag} is given twice (element ${toString i})")
        ]
      ) args
    );

  # targetCacheMB <= maxCacheMB when both are set.
  cacheSizes =
    max: target:
    problemIf (
      max != null && target != null && target > max
    ) "must not exceed maxCacheMB";

  envName =
    v:
    firstProblem [
      (problemIf (match "[A-Za-z_][A-Za-z0-9_]*" v == null) "not a variable name")
      (problemIf (
        lib.elem v [
          "ARCHIL_MOUNT_TOKEN"
          "NOTIFY_SOCKET"
          "CREDENTIALS_DIRECTORY"
        ]
        || lib.hasPrefix "LISTEN_" v
        || lib.hasPrefix "WATCHDOG_" v
      ) "must not be passed to the client")
    ];

  # Limits of the numeric fields.
  maxCacheMB = 1099511627776; # 2^40
  maxTimeoutSec = 86400;

  logLevels = [
    "trace"
    "debug"
    "info"
    "warn"
    "error"
  ];
}
