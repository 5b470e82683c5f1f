// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {Types} from "./Types.sol";

/// @notice The hashes both sides of the bridge must agree on.
library Hashing {
    /// @notice Version of the output root encoding this chain commits to.
    bytes32 internal constant OUTPUT_VERSION_V0 = bytes32(0);

    /// @notice keccak256(abi.encode(nonce, sender, target, value, gasLimit, data)): the key of a
    ///         withdrawal in the message passer's `sentMessages` and in the Portal.
    function hashWithdrawal(Types.WithdrawalTransaction memory _tx) internal pure returns (bytes32) {
        return keccak256(abi.encode(_tx.nonce, _tx.sender, _tx.target, _tx.value, _tx.gasLimit, _tx.data));
    }

    /// @notice Output root v0: keccak256(abi.encode(bytes32(0), stateRoot, messagePasserStorageRoot, blockHash)).
    function hashOutputRootProof(Types.OutputRootProof memory _proof) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(_proof.version, _proof.stateRoot, _proof.messagePasserStorageRoot, _proof.latestBlockhash)
        );
    }
}
