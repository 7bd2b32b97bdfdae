# expect: error services.archil.mounts.b.credentialName: the credstore credential archil-token is also imported by services.archil.mounts.a
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts = {
    a = {
      diskName = "myorg/a";
      mountPoint = "/srv/a";
      region = "aws-us-east-1";
      authMethod = "token";
      credstore = true;
      credentialName = "archil-token";
    };
    b = {
      diskName = "myorg/b";
      mountPoint = "/srv/b";
      region = "aws-us-east-1";
      authMethod = "token";
      credstore = true;
      credentialName = "archil-token";
    };
  };
}
