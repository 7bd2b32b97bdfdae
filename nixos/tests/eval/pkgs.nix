# A stand-in for the few packages and builders module.nix uses. Store paths
# are fake but shaped like real ones, and depend on the content, so that the
# golden test can map them to stand-in locations.
{ lib }:
let
  storePath = name: content: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" content)}-${name}";

  fakePackage =
    name: mainProgram:
    let
      outPath = storePath name name;
    in
    {
      type = "derivation";
      inherit name outPath;
      out = {
        type = "derivation";
        inherit name outPath;
      };
      outputName = "out";
      meta = { inherit mainProgram; };
    };
in
{
  writeText = name: text: {
    type = "derivation";
    inherit name text;
    outPath = storePath name text;
  };

  callPackage = _: _: fakePackage "archil-launch-default" "archil-launch";

  runCommand =
    name: attrs: _:
    fakePackage name (attrs.meta.mainProgram or name);

  stdenv.hostPlatform.system = "x86_64-linux";

  fuse = fakePackage "fuse" "fusermount";
  fuse3 = fakePackage "fuse3" "fusermount3";
  jq = fakePackage "jq" "jq";
  ec2-metadata-mock = fakePackage "ec2-metadata-mock" "ec2-metadata-mock";

  # Not in Nixpkgs: what a user would package themselves.
  archil-client = fakePackage "archil-client" "archil";
  archil-launch = fakePackage "archil-launch" "archil-launch";
  archil-fake = fakePackage "archil-fake" "archil-fake";
}
