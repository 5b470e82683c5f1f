import { compile } from './solc.ts'

export const STORE_SOL = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract Store {
  uint256 public x;
  event Set(uint256 indexed v, address who);
  constructor() { x = 1; }
  function set(uint256 v) external { x = v; emit Set(v, msg.sender); }
  function fail() external pure { revert("nope"); }
  function hashOf(uint256 n) external view returns (bytes32) { return blockhash(n); }
  function bump(uint256 n) external { for (uint256 i = 0; i < n; i++) { x = x + 1; } }
  function setAndCall(uint256 v, address target, bytes calldata data) external returns (bytes memory) {
    x = v;
    (bool ok, bytes memory ret) = target.call(data);
    require(ok, "inner failed");
    return ret;
  }
}
`

export const CALLER_SOL = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
contract ModuleCaller {
  address constant M = 0x4F50454E00000000000000000000000000000001;
  function callWrite(uint256 v) external payable returns (bool ok, bytes memory ret) {
    (ok, ret) = M.call{value: msg.value}(abi.encodePacked(bytes4(0x00000001), v));
  }
  function staticWrite(uint256 v) external view returns (bool ok, bytes memory ret) {
    (ok, ret) = M.staticcall(abi.encodePacked(bytes4(0x00000001), v));
  }
  function staticRead() external view returns (bool ok, bytes memory ret) {
    (ok, ret) = M.staticcall(abi.encodePacked(bytes4(0x00000002)));
  }
  function delegateWrite(uint256 v) external returns (bool ok, bytes memory ret) {
    (ok, ret) = M.delegatecall(abi.encodePacked(bytes4(0x00000001), v));
  }
  function writeThenRevert(uint256 v) external {
    (bool ok, ) = M.call(abi.encodePacked(bytes4(0x00000001), v));
    require(ok, "module call failed");
    revert("after");
  }
  function codeSize() external view returns (uint256 s) {
    address m = M;
    assembly { s := extcodesize(m) }
  }
}
`

let cache: ReturnType<typeof compile> | undefined
export function contracts() {
  cache ??= compile({ 'Store.sol': STORE_SOL, 'Caller.sol': CALLER_SOL })
  return cache
}
