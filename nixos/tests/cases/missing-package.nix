# expect: error services.archil.package is not set: the Archil client is proprietary and not in Nixpkgs
{
  services.archil = {
    enable = true;
    mounts.m = {
      diskName = "myorg/m";
      mountPoint = "/mnt/m";
      region = "aws-us-east-1";
    };
  };
}
