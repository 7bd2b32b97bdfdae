# expect: ok
# warning: services.archil.mounts.w.authToken is set: the token is written to the Nix store, which every local user can read
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.w = {
      diskName = "myorg/w";
      mountPoint = "/mnt/w";
      region = "aws-us-east-1";
      authMethod = "token";
      authToken = "fixture-token";
    };
  };
}
