// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

/// @title L1Block
/// @notice Predeploy at 0x4200000000000000000000000000000000000015 (in genesis): what the chain has
///         consumed of L1. Only the node's deposit step writes these slots (system work at the
///         start of a block, not a transaction); this code only reads them. The slot order is
///         part of the protocol: the node writes slots 0–4 and the mappings at slots 5 and 6.
contract L1Block {
    /// @notice Number of the last L1 block whose deposits are applied (the L1 origin).
    uint64 public number; // slot 0
    /// @notice Hash of that L1 block.
    bytes32 public hash; // slot 1
    /// @notice Deposits applied since genesis.
    uint256 public depositCount; // slot 2
    /// @notice OPEN minted on this chain by deposits since genesis (wei).
    uint256 public totalMinted; // slot 3
    /// @notice Timestamp of the L1 origin.
    uint64 public timestamp; // slot 4
    /// @notice L2 block number that applied a deposit, by source hash (0: not applied).
    mapping(bytes32 => uint256) public applied; // slot 5
    /// @notice Deposits whose `value` transfer did not happen (the sender lacked the OPEN after the
    ///         mint); the mint itself always happens.
    mapping(bytes32 => bool) public valueTransferFailed; // slot 6

    string public constant version = "1.0.0";
}
