// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Types} from "../lib/Types.sol";

/// @title L2OutputOracle
/// @notice Commitments to the OpenLedger chain's state on L1, with the OP Stack's pre-fault-proof
///         interface (names, events, revert strings that viem's `op-stack` actions look for).
///
///         Departures from the OP Stack's contract, all deliberate:
///         - Outputs are signed by the L2's validators. When a validator set is configured, an
///           output is accepted only with EIP-712 signatures of at least ceil(2n/3) of the current
///           set (`proposeL2OutputSigned`); the same signatures name the set that signs the next
///           output, so the set follows the chain's epochs. Anyone may submit a signed output.
///           Without a validator set the OP Stack's single-proposer `proposeL2Output` applies.
///         - L2 timestamps are not a linear function of block numbers on a QBFT chain, so there is
///           no "cannot propose L2 output in the future" check (validators only sign blocks they
///           have finalised); `computeL2Timestamp` is kept for tooling that estimates times.
///         - Not proxied: configuration is fixed at construction.
contract L2OutputOracle is EIP712 {
    /// @notice Upper bound of a validator set (bounds the gas of a signed proposal).
    uint256 public constant MAX_VALIDATORS = 128;

    /// @notice EIP-712 type of what validators sign. `nextValidatorsHash` is
    ///         keccak256(abi.encodePacked(sorted validator addresses)) of the set that signs the
    ///         next output.
    bytes32 public constant OUTPUT_TYPEHASH = keccak256(
        "OutputRoot(uint256 l2ChainId,bytes32 outputRoot,uint256 l2BlockNumber,bytes32 nextValidatorsHash)"
    );

    uint256 public immutable l2ChainId;
    uint256 public immutable submissionInterval;
    uint256 public immutable l2BlockTime;
    uint256 public immutable startingBlockNumber;
    uint256 public immutable startingTimestamp;
    address public immutable proposer;
    address public immutable challenger;
    uint256 public immutable finalizationPeriodSeconds;

    Types.OutputProposal[] internal l2Outputs;

    /// @notice Validator sets by id (1-based; 0 = none). Sets are never edited, only replaced.
    mapping(uint256 => mapping(address => bool)) internal inSet;
    mapping(uint256 => address[]) internal sets;
    uint256 public validatorSetId;
    uint256 internal setCount;
    /// @notice The set that signed each output (0: unsigned), restored when outputs are deleted.
    mapping(uint256 => uint256) public outputSignerSet;

    event OutputProposed(
        bytes32 indexed outputRoot, uint256 indexed l2OutputIndex, uint256 indexed l2BlockNumber, uint256 l1Timestamp
    );
    event OutputsDeleted(uint256 indexed prevNextOutputIndex, uint256 indexed newNextOutputIndex);
    event ValidatorSetUpdated(uint256 indexed setId, bytes32 validatorsHash, uint256 size);

    string public constant version = "1.8.0";

    constructor(
        uint256 _l2ChainId,
        uint256 _submissionInterval,
        uint256 _l2BlockTime,
        uint256 _startingBlockNumber,
        uint256 _startingTimestamp,
        address _proposer,
        address _challenger,
        uint256 _finalizationPeriodSeconds,
        address[] memory _validators
    ) EIP712("OpenLedger L2OutputOracle", "1") {
        require(_submissionInterval > 0, "L2OutputOracle: submission interval must be greater than 0");
        require(_l2BlockTime > 0, "L2OutputOracle: L2 block time must be greater than 0");
        require(
            _startingTimestamp <= block.timestamp,
            "L2OutputOracle: starting L2 timestamp must be less than current time"
        );
        require(
            _validators.length > 0 || _proposer != address(0),
            "L2OutputOracle: a proposer or a validator set is required"
        );
        l2ChainId = _l2ChainId;
        submissionInterval = _submissionInterval;
        l2BlockTime = _l2BlockTime;
        startingBlockNumber = _startingBlockNumber;
        startingTimestamp = _startingTimestamp;
        proposer = _proposer;
        challenger = _challenger;
        finalizationPeriodSeconds = _finalizationPeriodSeconds;
        if (_validators.length > 0) _installSet(_validators, validatorsHash(_validators));
    }

    // ---- OP Stack legacy getters ----

    function SUBMISSION_INTERVAL() external view returns (uint256) {
        return submissionInterval;
    }

    function L2_BLOCK_TIME() external view returns (uint256) {
        return l2BlockTime;
    }

    function CHALLENGER() external view returns (address) {
        return challenger;
    }

    function PROPOSER() external view returns (address) {
        return proposer;
    }

    function FINALIZATION_PERIOD_SECONDS() external view returns (uint256) {
        return finalizationPeriodSeconds;
    }

    // ---- validator set ----

    /// @notice The current validator set (sorted ascending), empty in single-proposer mode.
    function validators() external view returns (address[] memory) {
        return sets[validatorSetId];
    }

    /// @notice Signatures needed for the next output: ceil(2n/3) of the current set (the QBFT quorum).
    function quorum() public view returns (uint256) {
        uint256 n = sets[validatorSetId].length;
        return (2 * n + 2) / 3;
    }

    /// @notice keccak256 of the packed addresses; reverts unless strictly ascending, non-empty and bounded.
    function validatorsHash(address[] memory _validators) public pure returns (bytes32) {
        require(
            _validators.length > 0 && _validators.length <= MAX_VALIDATORS,
            "L2OutputOracle: validator set size out of range"
        );
        for (uint256 i = 1; i < _validators.length; i++) {
            require(_validators[i - 1] < _validators[i], "L2OutputOracle: validators must be sorted and unique");
        }
        require(_validators[0] != address(0), "L2OutputOracle: zero address validator");
        return keccak256(abi.encodePacked(_validators));
    }

    /// @notice The EIP-712 digest validators sign for an output.
    function outputDigest(bytes32 _outputRoot, uint256 _l2BlockNumber, bytes32 _nextValidatorsHash)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(OUTPUT_TYPEHASH, l2ChainId, _outputRoot, _l2BlockNumber, _nextValidatorsHash))
        );
    }

    // ---- proposals ----

    /// @notice OP Stack single-proposer submission; only when no validator set is configured.
    function proposeL2Output(bytes32 _outputRoot, uint256 _l2BlockNumber, bytes32 _l1BlockHash, uint256 _l1BlockNumber)
        external
        payable
    {
        require(validatorSetId == 0, "L2OutputOracle: outputs must be signed by the validator set");
        require(msg.sender == proposer, "L2OutputOracle: only the proposer address can propose new outputs");
        _checkProposal(_outputRoot, _l2BlockNumber, _l1BlockHash, _l1BlockNumber);
        _push(_outputRoot, _l2BlockNumber, 0);
    }

    /// @notice Submits an output signed by at least `quorum()` validators of the current set.
    /// @param _nextValidators The validator set after `_l2BlockNumber` (sorted), which signs the next output.
    /// @param _signatures     65-byte signatures of `outputDigest`, ordered by signer address (ascending).
    function proposeL2OutputSigned(
        bytes32 _outputRoot,
        uint256 _l2BlockNumber,
        bytes32 _l1BlockHash,
        uint256 _l1BlockNumber,
        address[] calldata _nextValidators,
        bytes[] calldata _signatures
    ) external payable {
        uint256 setId = validatorSetId;
        require(setId != 0, "L2OutputOracle: no validator set; use proposeL2Output");
        _checkProposal(_outputRoot, _l2BlockNumber, _l1BlockHash, _l1BlockNumber);
        bytes32 nextHash = validatorsHash(_nextValidators);
        bytes32 digest = outputDigest(_outputRoot, _l2BlockNumber, nextHash);
        require(_signatures.length <= MAX_VALIDATORS, "L2OutputOracle: too many signatures");
        address last = address(0);
        for (uint256 i = 0; i < _signatures.length; i++) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, _signatures[i]);
            require(err == ECDSA.RecoverError.NoError, "L2OutputOracle: malformed signature");
            require(signer > last, "L2OutputOracle: signers must be ascending and unique");
            require(inSet[setId][signer], "L2OutputOracle: signer is not in the validator set");
            last = signer;
        }
        require(_signatures.length >= quorum(), "L2OutputOracle: not enough validator signatures");
        _push(_outputRoot, _l2BlockNumber, setId);
        if (nextHash != keccak256(abi.encodePacked(sets[setId]))) _installSet(_nextValidators, nextHash);
    }

    /// @notice Deletes the output at `_l2OutputIndex` and all after it (challenger only, before
    ///         finalisation). The validator set that signed the first deleted output is restored.
    function deleteL2Outputs(uint256 _l2OutputIndex) external {
        require(msg.sender == challenger, "L2OutputOracle: only the challenger address can delete outputs");
        require(
            _l2OutputIndex < l2Outputs.length, "L2OutputOracle: cannot delete outputs after the latest output index"
        );
        require(
            block.timestamp - l2Outputs[_l2OutputIndex].timestamp < finalizationPeriodSeconds,
            "L2OutputOracle: cannot delete outputs that have already been finalized"
        );
        uint256 prevNext = l2Outputs.length;
        uint256 signerSet = outputSignerSet[_l2OutputIndex];
        while (l2Outputs.length > _l2OutputIndex) l2Outputs.pop();
        if (signerSet != 0 && signerSet != validatorSetId) {
            validatorSetId = signerSet;
            emit ValidatorSetUpdated(signerSet, keccak256(abi.encodePacked(sets[signerSet])), sets[signerSet].length);
        }
        emit OutputsDeleted(prevNext, _l2OutputIndex);
    }

    // ---- queries ----

    function getL2Output(uint256 _l2OutputIndex) external view returns (Types.OutputProposal memory) {
        require(_l2OutputIndex < l2Outputs.length, "L2OutputOracle: no output at this index");
        return l2Outputs[_l2OutputIndex];
    }

    /// @notice Index of the first output with l2BlockNumber >= `_l2BlockNumber` (binary search).
    function getL2OutputIndexAfter(uint256 _l2BlockNumber) public view returns (uint256) {
        require(
            _l2BlockNumber <= latestBlockNumber(),
            "L2OutputOracle: cannot get output for a block that has not been proposed"
        );
        require(l2Outputs.length > 0, "L2OutputOracle: cannot get output as no outputs have been proposed yet");
        uint256 lo = 0;
        uint256 hi = l2Outputs.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (l2Outputs[mid].l2BlockNumber < _l2BlockNumber) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    function getL2OutputAfter(uint256 _l2BlockNumber) external view returns (Types.OutputProposal memory) {
        return l2Outputs[getL2OutputIndexAfter(_l2BlockNumber)];
    }

    function latestOutputIndex() external view returns (uint256) {
        require(l2Outputs.length > 0, "L2OutputOracle: no outputs have been proposed yet");
        return l2Outputs.length - 1;
    }

    function nextOutputIndex() public view returns (uint256) {
        return l2Outputs.length;
    }

    function latestBlockNumber() public view returns (uint256) {
        return l2Outputs.length == 0 ? startingBlockNumber : l2Outputs[l2Outputs.length - 1].l2BlockNumber;
    }

    function nextBlockNumber() public view returns (uint256) {
        return latestBlockNumber() + submissionInterval;
    }

    /// @notice Nominal timestamp of an L2 block at the configured block time (an estimate on QBFT chains).
    function computeL2Timestamp(uint256 _l2BlockNumber) public view returns (uint256) {
        return startingTimestamp + ((_l2BlockNumber - startingBlockNumber) * l2BlockTime);
    }

    // ---- internals ----

    function _checkProposal(bytes32 _outputRoot, uint256 _l2BlockNumber, bytes32 _l1BlockHash, uint256 _l1BlockNumber)
        internal
        view
    {
        require(
            _l2BlockNumber == nextBlockNumber(),
            "L2OutputOracle: block number must be equal to next expected block number"
        );
        require(_outputRoot != bytes32(0), "L2OutputOracle: L2 output proposal cannot be the zero hash");
        if (_l1BlockHash != bytes32(0)) {
            // Pins the proposal to an L1 fork: it cannot land on a chain that reorged the block away.
            require(
                blockhash(_l1BlockNumber) == _l1BlockHash,
                "L2OutputOracle: block hash does not match the hash at the expected height"
            );
        }
    }

    function _push(bytes32 _outputRoot, uint256 _l2BlockNumber, uint256 _signerSet) internal {
        uint256 index = l2Outputs.length;
        emit OutputProposed(_outputRoot, index, _l2BlockNumber, block.timestamp);
        l2Outputs.push(
            Types.OutputProposal({
                outputRoot: _outputRoot,
                timestamp: uint128(block.timestamp),
                l2BlockNumber: uint128(_l2BlockNumber)
            })
        );
        outputSignerSet[index] = _signerSet;
    }

    function _installSet(address[] memory _validators, bytes32 _hash) internal {
        uint256 id = ++setCount;
        for (uint256 i = 0; i < _validators.length; i++) {
            inSet[id][_validators[i]] = true;
        }
        sets[id] = _validators;
        validatorSetId = id;
        emit ValidatorSetUpdated(id, _hash, _validators.length);
    }
}
