# NixOS VM test: archil-fake (the test double of the client) as
# services.archil.package, a token mount and an IAM mount against
# amazon-ec2-metadata-mock, a reboot, and `archil-launch --check`.
#
#   nix build .#checks.x86_64-linux.vm
#
# Called from flake.nix as pkgs.testers.runNixOSTest (import ./vm.nix { inherit self; }).
{ self }:
{ lib, ... }:
let
  fixtureToken = "vm-fixture-token-0123456789";
  # The token as a pattern that does not match itself: grep's own command
  # line holds the pattern, and must not count as a leak.
  tokenPattern = "vm-fixture-token-012345678[9]";
  imdsPort = 1338;
in
{
  name = "archil-launch";

  nodes.machine =
    { pkgs, ... }:
    let
      packages = self.packages.${pkgs.stdenv.hostPlatform.system};
      # The module runs <package>/bin/archil.
      archilFake = pkgs.runCommand "archil-fake-client" { meta.mainProgram = "archil"; } ''
        mkdir -p $out/bin
        ln -s ${lib.getExe packages.archil-fake} $out/bin/archil
      '';
    in
    {
      imports = [ self.nixosModules.default ];

      services.archil = {
        enable = true;
        package = archilFake;
        launcherPackage = packages.archil-launch;
        mounts = {
          data = {
            diskName = "testorg/data";
            mountPoint = "/mnt/archil/data";
            region = "aws-us-east-1";
            authMethod = "token";
            authTokenFile = "/run/archil-test/token";
            wantedBy = [ "multi-user.target" ];
          };
          models = {
            diskName = "testorg/models";
            mountPoint = "/srv/models";
            region = "aws-us-east-1";
            readOnly = true;
            environment.AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:${toString imdsPort}";
            wantedBy = [ "multi-user.target" ];
          };
        };
      };

      # The token, as a secret manager would place it (not in the store),
      # and the fake's copy to check it against.
      systemd.tmpfiles.rules = [
        "d /run/archil-test 0700 root root -"
        "f+ /run/archil-test/token 0400 root root - ${fixtureToken}"
        "d /var/lib/archil-fake 0700 root root -"
        "f+ /var/lib/archil-fake/expect-token 0600 root root - ${fixtureToken}"
      ];

      systemd.services.ec2-metadata-mock = {
        description = "EC2 instance metadata mock";
        wantedBy = [ "multi-user.target" ];
        before = [ "archil-mount-models.service" ];
        serviceConfig.ExecStart = "${lib.getExe pkgs.ec2-metadata-mock} --port ${toString imdsPort}";
      };
      systemd.services.archil-mount-models = {
        wants = [ "ec2-metadata-mock.service" ];
        after = [ "ec2-metadata-mock.service" ];
      };

      environment.systemPackages = [ pkgs.jq ];
    };

  testScript = ''
    def check_mounts():
        machine.wait_for_unit("archil-mount-data.service")
        machine.wait_for_unit("archil-mount-models.service")
        for mp in ["/mnt/archil/data", "/srv/models"]:
            machine.succeed(f"findmnt -n -o FSTYPE {mp} | grep -x fuse.archil")
        # Read-only is set by the launcher on the host's view of the mount.
        machine.succeed("findmnt -n -o OPTIONS /srv/models | grep -E '(^|,)ro(,|$)'")
        machine.fail("touch /srv/models/x")
        # Every check passes; --check changes nothing.
        machine.succeed("archil-launch --check")
        machine.succeed("archil-launch --check --json | jq -e . >/dev/null")

    start_all()
    check_mounts()

    with subtest("the token appears in no unit, command line or config"):
        # -R: the files under /etc are symlinks into the store.
        machine.fail("grep -R '${tokenPattern}' /etc/systemd/system /etc/archil")
        machine.fail("grep -l '${tokenPattern}' /proc/[0-9]*/cmdline")
        machine.fail("journalctl -b | grep '${tokenPattern}'")

    with subtest("data written before a reboot is there after it"):
        machine.succeed("echo persisted > /mnt/archil/data/hello")
        machine.shutdown()
        machine.start()
        check_mounts()
        machine.succeed("grep -x persisted /mnt/archil/data/hello")

    with subtest("stop flushes and unmounts"):
        machine.succeed("systemctl stop archil-mount-data.service")
        machine.fail("findmnt /mnt/archil/data")
  '';
}
