# expect: error services.archil.mounts.x.extraArgs: --nconnect is given twice (element 1)
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.x = {
    diskName = "myorg/x";
    mountPoint = "/srv/x";
    region = "aws-us-east-1";
    extraArgs = [
      "--nconnect=4"
      "--nconnect=8"
    ];
  };
}
