// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title OpenToken
/// @notice OPEN on L1: a plain 18-decimal ERC-20 with a fixed supply minted once. The Portal locks
///         it for deposits (minted as native OPEN on L2) and releases it for proven withdrawals.
contract OpenToken is ERC20, ERC20Permit {
    constructor(address _holder, uint256 _supply) ERC20("Open", "OPEN") ERC20Permit("Open") {
        _mint(_holder, _supply);
    }
}
