{
  description = "Mount Archil disks on NixOS: a module and a small launcher, one systemd service per mount";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.archil-launch;
        archil-launch = pkgs.callPackage ./nixos/package.nix { };
        # The test double of the Archil client, for tests only.
        archil-fake = pkgs.callPackage ./nixos/package.nix { program = "archil-fake"; };
      });

      # services.archil; its launcherPackage defaults to the same build as
      # packages.<system>.default.
      nixosModules.default = ./nixos/module.nix;

      checks = forAllSystems (pkgs: {
        inherit (self.packages.${pkgs.stdenv.hostPlatform.system}) archil-launch archil-fake;
        vm = pkgs.testers.runNixOSTest (import ./nixos/tests/vm.nix { inherit self; });
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.go_1_26 or pkgs.go)
            pkgs.gopls
            pkgs.nix
            pkgs.nixfmt
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
