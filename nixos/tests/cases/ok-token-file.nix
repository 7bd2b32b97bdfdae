# expect: ok
# no-unit: archil-token-a.path
# A token mount with a secret file, and an IAM mount next to it whose mount
# point only shares a prefix (not nested).
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.a = {
      diskName = "myorg/a";
      mountPoint = "/mnt/a";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/secrets/archil-a";
    };
    mounts.ab = {
      diskName = "myorg/ab";
      mountPoint = "/mnt/ab";
      region = "aws-us-east-1";
    };
  };
}
