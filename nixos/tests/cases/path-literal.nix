# expect: error The option `services.archil.mounts.p.authTokenFile' is the Nix path literal
# expect-also: it would be copied into the world-readable Nix store
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.p = {
      diskName = "myorg/p";
      mountPoint = "/mnt/p";
      region = "aws-us-east-1";
      authMethod = "token";
      # Never read: the module refuses the literal before anything uses it.
      authTokenFile = ./archil-token;
    };
  };
}
