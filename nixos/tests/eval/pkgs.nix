# The package set, the one part of the evaluation that is a stand-in:
# nothing is built here. A package is an attribute set shaped like a
# derivation whose store path depends on its name (and, for writeText, its
# content), so that the golden test can map store paths to stand-in
# locations. Only what the NixOS modules and module.nix use is here; any
# other attribute fails evaluation (attribute missing), as it should.
{ lib }:
let
  storePath = name: content: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" content)}-${name}";

  # A fake derivation; `extra` adds attributes (meta, passthru).
  fake =
    name: extra:
    let
      self = {
        type = "derivation";
        inherit name;
        outPath = storePath name name;
        drvPath = storePath "${name}.drv" name;
        outputName = "out";
        outputs = [ "out" ];
        meta = { };
        override = _: self;
        overrideAttrs = _: self;
      }
      // extra
      // {
        out = self;
      };
    in
    self;

  package = name: mainProgram: fake name { meta = { inherit mainProgram; }; };

  # buildGoModule: nixos/package.nix's arguments decide the name and meta.
  buildGoModule = attrs: fake "${attrs.pname}-${attrs.version}" { inherit (attrs) meta pname version; };

  # The packages system-path.nix puts into environment.corePackages and
  # defaultPackages (a list of names there).
  systemPathPackages = [
    "acl"
    "attr"
    "bashInteractive"
    "bzip2"
    "coreutils-full"
    "cpio"
    "curl"
    "diffutils"
    "findutils"
    "gawk"
    "getent"
    "getconf"
    "gnugrep"
    "gnupatch"
    "gnused"
    "gnutar"
    "gzip"
    "xz"
    "less"
    "libcap"
    "ncurses"
    "netcat"
    "mkpasswd"
    "procps"
    "su"
    "time"
    "util-linux"
    "which"
    "zstd"
    "perl"
    "rsync"
    "strace"
  ];
in
lib.genAttrs systemPathPackages (name: fake name { })
// rec {
  inherit lib;

  stdenv = {
    hostPlatform = {
      system = "x86_64-linux";
      is64bit = true;
      isLinux = true;
    };
    cc.libc = fake "glibc" { };
  };
  buildPackages.lndir = fake "lndir" { };

  writeText =
    name: text:
    fake name { inherit text; }
    // {
      outPath = storePath name text;
    };

  runCommand = name: attrs: _: fake name { meta = attrs.meta or { }; };

  callPackage =
    fn: args:
    (if lib.isFunction fn then fn else import fn) (
      {
        inherit lib buildGoModule;
        buildGo126Module = buildGoModule;
      }
      // args
    );

  runtimeShell = "${bash}/bin/bash";
  bash = package "bash" "bash";
  coreutils = package "coreutils" "coreutils";
  systemd = fake "systemd" {
    meta.mainProgram = "systemctl";
    withCryptsetup = false;
    withImportd = false;
    util-linux = fake "util-linux" { };
  };
  kmod = package "kmod" "kmod";
  # Nixpkgs' kernels declare their features; kernel.nix checks no config then.
  linuxPackages = lib.makeExtensible (_: {
    kernel = fake "linux" { features = { }; };
  });
  dosfstools = package "dosfstools" "mkfs.fat";
  tzdata = fake "tzdata" { };
  glibcLocales = fake "glibc-locales" { };
  fuse = package "fuse" "fusermount";
  fuse3 = package "fuse3" "fusermount3";

  # For the VM test's node.
  jq = package "jq" "jq";
  ec2-metadata-mock = package "ec2-metadata-mock" "ec2-metadata-mock";

  # Not in Nixpkgs: what a user packages, or takes from the archil-flake.
  archil-client = package "archil-client" "archil";
}
