# expect: error services.archil.mounts.n.wantedBy."[definition 1-entry 1]"' is not of type `string matching the pattern
# A unit name without its type: NixOS would refuse it too, naming its own
# option; ours is named.
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.n = {
    diskName = "myorg/n";
    mountPoint = "/mnt/n";
    region = "aws-us-east-1";
    wantedBy = [ "multi-user" ];
  };
}
