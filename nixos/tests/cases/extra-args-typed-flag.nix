# expect: error services.archil.mounts.x.extraArgs: --region is not allowed: it is set by the region option
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.x = {
    diskName = "myorg/x";
    mountPoint = "/srv/x";
    region = "aws-us-east-1";
    extraArgs = [ "--region=aws-eu-west-1" ];
  };
}
